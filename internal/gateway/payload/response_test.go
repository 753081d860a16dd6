package payload

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
)

type parseCase struct {
	name    string
	in      string
	status  int
	header  http.Header
	cookies []string
	body    string
	wantErr bool
}

func runParse(t *testing.T, parse func([]byte) (*Response, error), cases []parseCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parse([]byte(c.in))
			if c.wantErr {
				if err == nil {
					t.Fatalf("got %+v, want an error", got)
				}
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("error %v does not wrap ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.StatusCode != c.status {
				t.Errorf("status %d, want %d", got.StatusCode, c.status)
			}
			if c.header != nil && !reflect.DeepEqual(got.Header, c.header) {
				t.Errorf("header %v, want %v", got.Header, c.header)
			}
			if !reflect.DeepEqual(got.Cookies, c.cookies) {
				t.Errorf("cookies %q, want %q", got.Cookies, c.cookies)
			}
			if string(got.Body) != c.body {
				t.Errorf("body %q, want %q", got.Body, c.body)
			}
		})
	}
}

func TestParseV1(t *testing.T) {
	runParse(t, ParseV1, []parseCase{
		{name: "full", in: `{"statusCode":201,"headers":{"Content-Type":"text/plain"},"body":"hi"}`,
			status: 201, header: http.Header{"Content-Type": {"text/plain"}}, body: "hi"},
		{name: "merge keeps both, once", in: `{"statusCode":200,
			"headers":{"x-a":"1","X-B":"solo"},
			"multiValueHeaders":{"X-A":["1","2"],"set-cookie":["a=1","b=2"]}}`,
			status: 200, header: http.Header{"X-A": {"1", "2"}, "X-B": {"solo"}, "Set-Cookie": {"a=1", "b=2"}}},
		{name: "merge adds a different single value", in: `{"statusCode":200,"headers":{"X-A":"3"},"multiValueHeaders":{"X-A":["1"]}}`,
			status: 200, header: http.Header{"X-A": {"1", "3"}}},
		{name: "base64 body", in: `{"statusCode":200,"body":"AP8=","isBase64Encoded":true}`, status: 200, body: "\x00\xff"},
		{name: "unpadded base64", in: `{"statusCode":200,"body":"AP8","isBase64Encoded":true}`, status: 200, body: "\x00\xff"},
		{name: "invalid header dropped", in: `{"statusCode":200,"headers":{"bad name":"x","X-Ok":"a\r\nInjected: 1"}}`,
			status: 200, header: http.Header{}},
		{name: "missing statusCode", in: `{"body":"hi"}`, wantErr: true},
		{name: "string statusCode", in: `{"statusCode":"200"}`, wantErr: true},
		{name: "status too big", in: `{"statusCode":600}`, wantErr: true},
		{name: "informational status", in: `{"statusCode":101}`, wantErr: true},
		{name: "numeric header value", in: `{"statusCode":200,"headers":{"X-N":5}}`, wantErr: true},
		{name: "bad base64", in: `{"statusCode":200,"body":"!!","isBase64Encoded":true}`, wantErr: true},
		{name: "plain string", in: `"hello"`, wantErr: true},
		{name: "null", in: `null`, wantErr: true},
		{name: "empty", in: ``, wantErr: true},
		{name: "trailing garbage", in: `{"statusCode":200} x`, wantErr: true},
	})
}

func TestParseV2(t *testing.T) {
	jsonCT := http.Header{"Content-Type": {"application/json"}}
	runParse(t, ParseV2, []parseCase{
		{name: "structured", in: `{"statusCode":302,"headers":{"location":"/x","x-l":"a,b"},"cookies":["a=1; Path=/","b=2"],"body":""}`,
			status: 302, header: http.Header{"Location": {"/x"}, "X-L": {"a,b"}}, cookies: []string{"a=1; Path=/", "b=2"}},
		{name: "structured multiValueHeaders honoured", in: `{"statusCode":200,"multiValueHeaders":{"x-m":["1","2"]}}`,
			status: 200, header: http.Header{"X-M": {"1", "2"}}},
		{name: "structured base64", in: `{"statusCode":200,"body":"aGk=","isBase64Encoded":true}`, status: 200, body: "hi"},
		{name: "infer object", in: `{"message":"hello"}`, status: 200, header: jsonCT, body: `{"message":"hello"}`},
		{name: "infer object with body but no statusCode", in: `{"body":"x","headers":{"a":"b"}}`,
			status: 200, header: jsonCT, body: `{"body":"x","headers":{"a":"b"}}`},
		{name: "infer string unquoted", in: `"Hello from Lambda!"`, status: 200, header: jsonCT, body: "Hello from Lambda!"},
		{name: "infer string escapes", in: `"a\"b\u00e9"`, status: 200, header: jsonCT, body: "a\"bé"},
		{name: "infer number", in: `42`, status: 200, header: jsonCT, body: "42"},
		{name: "infer array", in: `[1,2]`, status: 200, header: jsonCT, body: "[1,2]"},
		{name: "infer null", in: `null`, status: 200, header: jsonCT, body: "null"},
		{name: "infer bool", in: `true`, status: 200, header: jsonCT, body: "true"},
		{name: "not JSON", in: `hello`, wantErr: true},
		{name: "empty", in: ``, wantErr: true},
		{name: "statusCode present but bad", in: `{"statusCode":"ok"}`, wantErr: true},
		{name: "statusCode null", in: `{"statusCode":null}`, wantErr: true},
		{name: "statusCode out of range", in: `{"statusCode":99}`, wantErr: true},
		{name: "cookies wrong type", in: `{"statusCode":200,"cookies":"a=1"}`, wantErr: true},
	})
}

func TestWrite(t *testing.T) {
	cases := []struct {
		name   string
		preset http.Header
		resp   Response
		status int
		header http.Header // exact expected header set
		body   string
	}{
		{
			name: "cookies and length",
			resp: Response{StatusCode: 201, Header: http.Header{"Content-Type": {"text/plain"}, "X-A": {"1", "2"}},
				Cookies: []string{"a=1", "b=2; Path=/"}, Body: []byte("hello")},
			status: 201,
			header: http.Header{"Content-Type": {"text/plain"}, "X-A": {"1", "2"},
				"Set-Cookie": {"a=1", "b=2; Path=/"}, "Content-Length": {"5"}},
			body: "hello",
		},
		{
			name:   "gateway headers win; framing ignored; no sniffed type",
			preset: http.Header{"Apigw-Requestid": {"gw"}, "Access-Control-Allow-Origin": {"*"}},
			resp: Response{StatusCode: 200, Header: http.Header{"Apigw-Requestid": {"fn"},
				"Access-Control-Allow-Origin": {"evil"}, "Content-Length": {"999"}, "Transfer-Encoding": {"chunked"}},
				Body: []byte("<html>")},
			status: 200,
			header: http.Header{"Apigw-Requestid": {"gw"}, "Access-Control-Allow-Origin": {"*"}, "Content-Length": {"6"}},
			body:   "<html>",
		},
		{
			name:   "no content",
			resp:   Response{StatusCode: 204, Body: []byte("dropped")},
			status: 204,
			header: http.Header{},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range c.preset {
					w.Header()[k] = v
				}
				c.resp.Write(w)
			}))
			defer srv.Close()
			res, err := srv.Client().Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body := make([]byte, 64)
			n, _ := res.Body.Read(body)
			if res.StatusCode != c.status {
				t.Errorf("status %d, want %d", res.StatusCode, c.status)
			}
			if string(body[:n]) != c.body {
				t.Errorf("body %q, want %q", body[:n], c.body)
			}
			got := res.Header.Clone()
			got.Del("Date")
			if !reflect.DeepEqual(got, c.header) {
				t.Errorf("header %v, want %v", got, c.header)
			}
		})
	}
}
