package awsapi

import (
	"math"
	"net/http"
	"strconv"

	"github.com/lamina-dev/lamina/internal/function"
)

// routeLambda registers the Lambda control API (restJson1; paths and
// success codes from the service model). Path labels arrive URL-encoded
// (an ARN's ':' as %3A); ServeMux matches and PathValue returns them decoded.
func (a *API) routeLambda() {
	code := a.codeBodyLimit
	std := defaultBodyLimit
	for _, rt := range []struct {
		pattern, op string
		limit       int64
		h           handlerFunc
	}{
		{"POST /2015-03-31/functions", "CreateFunction", code, a.createFunction},
		{"GET /2015-03-31/functions", "ListFunctions", std, a.listFunctions},
		{"GET /2015-03-31/functions/{FunctionName}", "GetFunction", std, a.getFunction},
		{"DELETE /2015-03-31/functions/{FunctionName}", "DeleteFunction", std, a.deleteFunction},
		{"GET /2015-03-31/functions/{FunctionName}/configuration", "GetFunctionConfiguration", std, a.getFunctionConfiguration},
		{"PUT /2015-03-31/functions/{FunctionName}/configuration", "UpdateFunctionConfiguration", std, a.updateFunctionConfiguration},
		{"PUT /2015-03-31/functions/{FunctionName}/code", "UpdateFunctionCode", code, a.updateFunctionCode},

		{"POST /2015-03-31/functions/{FunctionName}/versions", "PublishVersion", std, a.publishVersion},
		{"GET /2015-03-31/functions/{FunctionName}/versions", "ListVersionsByFunction", std, a.listVersionsByFunction},

		{"POST /2015-03-31/functions/{FunctionName}/aliases", "CreateAlias", std, a.createAlias},
		{"GET /2015-03-31/functions/{FunctionName}/aliases", "ListAliases", std, a.listAliases},
		{"GET /2015-03-31/functions/{FunctionName}/aliases/{Name}", "GetAlias", std, a.getAlias},
		{"PUT /2015-03-31/functions/{FunctionName}/aliases/{Name}", "UpdateAlias", std, a.updateAlias},
		{"DELETE /2015-03-31/functions/{FunctionName}/aliases/{Name}", "DeleteAlias", std, a.deleteAlias},

		{"PUT /2017-10-31/functions/{FunctionName}/concurrency", "PutFunctionConcurrency", std, a.putFunctionConcurrency},
		{"GET /2019-09-30/functions/{FunctionName}/concurrency", "GetFunctionConcurrency", std, a.getFunctionConcurrency},
		{"DELETE /2017-10-31/functions/{FunctionName}/concurrency", "DeleteFunctionConcurrency", std, a.deleteFunctionConcurrency},

		{"POST /2017-03-31/tags/{Resource}", "TagResource", std, a.tagResource},
		{"DELETE /2017-03-31/tags/{Resource}", "UntagResource", std, a.untagResource},
		{"GET /2017-03-31/tags/{Resource}", "ListTags", std, a.listTags},

		{"GET /2016-08-19/account-settings", "GetAccountSettings", std, a.getAccountSettings},

		// The handler applies Invoke's own 6 MB limit (invoke.go).
		{"POST /2015-03-31/functions/{FunctionName}/invocations", "Invoke", math.MaxInt64, a.invokeFunction},
		{"PUT /2019-09-30/functions/{FunctionName}/provisioned-concurrency", "PutProvisionedConcurrencyConfig", std, a.putProvisionedConcurrencyConfig},
		{"GET /2019-09-30/functions/{FunctionName}/provisioned-concurrency", "GetProvisionedConcurrencyConfig", std, a.getProvisionedConcurrencyConfig},
		{"DELETE /2019-09-30/functions/{FunctionName}/provisioned-concurrency", "DeleteProvisionedConcurrencyConfig", std, a.deleteProvisionedConcurrencyConfig},

		{"PUT /2019-09-25/functions/{FunctionName}/event-invoke-config", "PutFunctionEventInvokeConfig", std, a.putFunctionEventInvokeConfig},
		{"POST /2019-09-25/functions/{FunctionName}/event-invoke-config", "UpdateFunctionEventInvokeConfig", std, a.updateFunctionEventInvokeConfig},
		{"GET /2019-09-25/functions/{FunctionName}/event-invoke-config", "GetFunctionEventInvokeConfig", std, a.getFunctionEventInvokeConfig},
		{"DELETE /2019-09-25/functions/{FunctionName}/event-invoke-config", "DeleteFunctionEventInvokeConfig", std, a.deleteFunctionEventInvokeConfig},
		{"GET /2019-09-25/functions/{FunctionName}/event-invoke-config/list", "ListFunctionEventInvokeConfigs", std, a.listFunctionEventInvokeConfigs},

		{"POST /2021-10-31/functions/{FunctionName}/url", "CreateFunctionUrlConfig", std, a.createFunctionURLConfig},
		{"GET /2021-10-31/functions/{FunctionName}/url", "GetFunctionUrlConfig", std, a.getFunctionURLConfig},
		{"PUT /2021-10-31/functions/{FunctionName}/url", "UpdateFunctionUrlConfig", std, a.updateFunctionURLConfig},
		{"DELETE /2021-10-31/functions/{FunctionName}/url", "DeleteFunctionUrlConfig", std, a.deleteFunctionURLConfig},
		{"GET /2021-10-31/functions/{FunctionName}/urls", "ListFunctionUrlConfigs", std, a.listFunctionURLConfigs},
	} {
		a.mux.Handle(rt.pattern, a.handler(rt.op, rt.limit, rt.h))
	}
}

// page reads ?Marker= and ?MaxItems= (1-10000; absent = the registry's default).
func page(r *http.Request) (function.Page, error) {
	q := r.URL.Query()
	p := function.Page{Marker: q.Get("Marker")}
	if s := q.Get("MaxItems"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10000 {
			return p, invalidParameter("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 10000", s)
		}
		p.MaxItems = n
	}
	return p, nil
}

// ---- account

func (a *API) getAccountSettings(w http.ResponseWriter, r *http.Request, c *call) error {
	usage, err := a.opts.Functions.Usage(r.Context())
	if err != nil {
		return err
	}
	lim := a.opts.Functions.Limits()
	concurrency := orDefault(lim.AccountConcurrency, 1000)
	return writeJSON(w, http.StatusOK, accountSettingsOut{
		AccountLimit: accountLimit{
			TotalCodeSize:                  80530636800, // AWS's default (75 GB); Lamina does not cap it
			CodeSizeUnzipped:               orDefault(lim.MaxUnzippedSize, 262144000),
			CodeSizeZipped:                 orDefault(lim.MaxZipSize, 52428800),
			ConcurrentExecutions:           concurrency,
			UnreservedConcurrentExecutions: concurrency - int(usage.ReservedConcurrency),
		},
		AccountUsage: accountUsage{
			TotalCodeSize: usage.TotalCodeSize,
			FunctionCount: usage.FunctionCount,
		},
	})
}
