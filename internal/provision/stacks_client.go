package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/lamina-dev/lamina/internal/deploy"
)

// ErrStackChanged is returned when a save or delete finds that another
// deploy changed the stack since it was loaded.
var ErrStackChanged = errors.New("the stack was changed by another deploy since it was read")

// StackClient is deploy.StateStore over Lamina's /_lamina/v1/stacks API.
type StackClient struct {
	endpoint string
	http     *http.Client
}

var _ deploy.StateStore = (*StackClient)(nil)

// NewStackClient returns a client of the Lamina at endpoint.
func NewStackClient(endpoint string, httpClient *http.Client) *StackClient {
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	return &StackClient{endpoint: strings.TrimSuffix(endpoint, "/"), http: httpClient}
}

func (c *StackClient) url(name string) string {
	u := c.endpoint + "/_lamina/v1/stacks"
	if name != "" {
		u += "/" + url.PathEscape(name)
	}
	return u
}

// do sends one request and returns the response body of a 2xx answer.
func (c *StackClient) do(ctx context.Context, method, u string, body []byte, header map[string]string) ([]byte, http.Header, int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, nil, 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, nil, resp.StatusCode, fmt.Errorf("%s %s: %w", method, u, err)
	}
	if resp.StatusCode/100 != 2 {
		return data, resp.Header, resp.StatusCode, stackAPIError(resp.StatusCode, data)
	}
	return data, resp.Header, resp.StatusCode, nil
}

// stackAPIError reads Lamina's REST-JSON error body.
func stackAPIError(status int, body []byte) error {
	var e struct {
		Type    string `json:"Type"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &e)
	msg := e.Message
	if msg == "" {
		msg = strings.TrimSpace(string(body))
	}
	err := fmt.Errorf("stack API: %s (HTTP %d)", msg, status)
	if status == http.StatusPreconditionFailed || status == http.StatusConflict {
		return fmt.Errorf("%w: %w", ErrStackChanged, err)
	}
	return err
}

// Load implements deploy.StateStore.
func (c *StackClient) Load(ctx context.Context, stack string) (*deploy.StackState, uint64, error) {
	body, hdr, status, err := c.do(ctx, http.MethodGet, c.url(stack), nil, nil)
	if status == http.StatusNotFound {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("load stack %s: %w", stack, err)
	}
	var s deploy.StackState
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, 0, fmt.Errorf("load stack %s: %w", stack, err)
	}
	rev, err := strconv.ParseUint(strings.Trim(hdr.Get("ETag"), `"`), 10, 64)
	if err != nil {
		return nil, 0, fmt.Errorf("load stack %s: no revision in the answer (ETag %q)", stack, hdr.Get("ETag"))
	}
	return &s, rev, nil
}

// Save implements deploy.StateStore.
func (c *StackClient) Save(ctx context.Context, s *deploy.StackState, rev uint64) (uint64, error) {
	doc, err := json.Marshal(s)
	if err != nil {
		return 0, fmt.Errorf("save stack %s: %w", s.Stack, err)
	}
	h := map[string]string{"If-None-Match": "*"}
	if rev != 0 {
		h = map[string]string{"If-Match": `"` + strconv.FormatUint(rev, 10) + `"`}
	}
	_, hdr, _, err := c.do(ctx, http.MethodPut, c.url(s.Stack), doc, h)
	if err != nil {
		return 0, fmt.Errorf("save stack %s: %w", s.Stack, err)
	}
	return strconv.ParseUint(strings.Trim(hdr.Get("ETag"), `"`), 10, 64)
}

// List implements deploy.StateStore.
func (c *StackClient) List(ctx context.Context) ([]*deploy.StackState, error) {
	body, _, _, err := c.do(ctx, http.MethodGet, c.url(""), nil, nil)
	if err != nil {
		return nil, fmt.Errorf("list stacks: %w", err)
	}
	var out struct {
		Stacks []*deploy.StackState `json:"stacks"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("list stacks: %w", err)
	}
	return out.Stacks, nil
}

// Delete implements deploy.StateStore.
func (c *StackClient) Delete(ctx context.Context, stack string, rev uint64) error {
	var h map[string]string
	if rev != 0 {
		h = map[string]string{"If-Match": `"` + strconv.FormatUint(rev, 10) + `"`}
	}
	if _, _, _, err := c.do(ctx, http.MethodDelete, c.url(stack), nil, h); err != nil {
		return fmt.Errorf("delete stack %s: %w", stack, err)
	}
	return nil
}
