package provision

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/lamina-dev/lamina/internal/deploy"
	"github.com/lamina-dev/lamina/internal/manifest"
)

var _ deploy.CodeReader = (*Provisioner)(nil)

// maxReadBackCode bounds a package read back for a rollback (Lambda's
// unzipped limit is 250 MB; a zip is smaller).
const maxReadBackCode = 256 << 20

var codeClient = &http.Client{Timeout: 2 * time.Minute}

// DeployedCode reads back the package a deployed function runs, from the
// Code.Location GetFunction gives (deploy.CodeReader), so that a failed
// deploy can put it back. It returns nil for anything but a function.
func (p *Provisioner) DeployedCode(ctx context.Context, rs *deploy.ResourceState) (*deploy.Code, error) {
	if rs == nil || rs.Type != manifest.TypeFunction || rs.PhysicalID == "" {
		return nil, nil
	}
	fn, err := p.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(rs.PhysicalID)})
	if err != nil {
		return nil, fmt.Errorf("get function %s: %w", rs.PhysicalID, err)
	}
	if fn.Code == nil || aws.ToString(fn.Code.Location) == "" {
		return nil, fmt.Errorf("function %s: no code location", rs.PhysicalID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, aws.ToString(fn.Code.Location), nil)
	if err != nil {
		return nil, err
	}
	resp, err := codeClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download the code of %s: %w", rs.PhysicalID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download the code of %s: %s", rs.PhysicalID, resp.Status)
	}
	zip, err := io.ReadAll(io.LimitReader(resp.Body, maxReadBackCode+1))
	if err != nil {
		return nil, fmt.Errorf("download the code of %s: %w", rs.PhysicalID, err)
	}
	if len(zip) > maxReadBackCode {
		return nil, fmt.Errorf("the code of %s is over %d MB", rs.PhysicalID, maxReadBackCode>>20)
	}
	sum := sha256.Sum256(zip)
	hash := base64.StdEncoding.EncodeToString(sum[:])
	if want := aws.ToString(fn.Configuration.CodeSha256); want != "" && want != hash {
		return nil, fmt.Errorf("the code of %s read back has CodeSha256 %s, the function %s", rs.PhysicalID, hash, want)
	}
	return &deploy.Code{Zip: zip, SHA256: hash}, nil
}
