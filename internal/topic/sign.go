package topic

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // SNS SignatureVersion 1 is SHA1withRSA by definition
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/lamina-dev/lamina/internal/store"
)

// Messages are signed as SNS signs them, so that subscribers that verify
// signatures (the AWS SDKs' message validators) can be pointed at Lamina:
// SignatureVersion 1 is SHA1withRSA and 2 SHA256withRSA over a canonical
// string of "name\nvalue\n" pairs in a fixed order. The RSA key is kept
// in the store so that a restart (or another node) signs with the same
// key; the self-signed certificate is made from it at start.

const signingKey = "signing-key"

type signer struct {
	key     *rsa.PrivateKey
	certPEM []byte
}

func loadSigner(ctx context.Context, kv store.KV) (*signer, error) {
	var key *rsa.PrivateKey
	for key == nil {
		e, err := kv.Get(ctx, signingKey)
		switch {
		case err == nil:
			blk, _ := pem.Decode(e.Value)
			if blk == nil {
				return nil, errors.New("topic: signing key: not PEM")
			}
			key, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("topic: signing key: %w", err)
			}
		case errors.Is(err, store.ErrNotFound):
			k, gerr := rsa.GenerateKey(rand.Reader, 2048)
			if gerr != nil {
				return nil, fmt.Errorf("topic: signing key: %w", gerr)
			}
			b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
			if _, err := kv.Create(ctx, signingKey, b); err != nil && !errors.Is(err, store.ErrExists) {
				return nil, fmt.Errorf("topic: store signing key: %w", err)
			}
			// Loop: read back whichever key won a concurrent start.
		default:
			return nil, fmt.Errorf("topic: read signing key: %w", err)
		}
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sns.lamina.local", Organization: []string{"Lamina"}},
		NotBefore:    time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("topic: signing certificate: %w", err)
	}
	return &signer{key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// sign signs the canonical string of fields (name, value pairs in SNS's
// order) with SignatureVersion version.
func (g *signer) sign(version string, fields ...string) string {
	var sb strings.Builder
	for i := 0; i+1 < len(fields); i += 2 {
		sb.WriteString(fields[i])
		sb.WriteByte('\n')
		sb.WriteString(fields[i+1])
		sb.WriteByte('\n')
	}
	var (
		sum  []byte
		hash crypto.Hash
	)
	if version == "2" {
		h := sha256.Sum256([]byte(sb.String()))
		sum, hash = h[:], crypto.SHA256
	} else {
		h := sha1.Sum([]byte(sb.String())) //nolint:gosec // see above
		sum, hash = h[:], crypto.SHA1
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, g.key, hash, sum)
	if err != nil {
		return "" // cannot happen with a valid key and hash
	}
	return base64.StdEncoding.EncodeToString(sig)
}
