package orders

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// Sealer encrypts orders for the queue with AES-256-GCM, so that what sits
// in the queue (and in its dead-letter queue) is unreadable without the key.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer takes the key as 64 hex characters (32 bytes).
func NewSealer(hexKey string) (*Sealer, error) {
	key, err := hex.DecodeString(hexKey)
	if err != nil {
		return nil, fmt.Errorf("order key: not hex: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("order key: %d bytes, want 32 (AES-256)", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("order key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("order key: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// aad binds a sealed order to its purpose: a ciphertext made for something
// else with the same key does not open as an order.
var aad = []byte("lamina-example-orders/v1")

// Seal returns base64(nonce || ciphertext) of the order's JSON.
func (s *Sealer) Seal(p *Placed) (string, error) {
	plain, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("nonce: %w", err)
	}
	return base64.StdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, aad)), nil
}

// ErrUnreadable is what Open returns for anything that is not an order
// sealed with this key.
var ErrUnreadable = errors.New("not an order sealed with this key")

// Open reverses Seal.
func (s *Sealer) Open(text string) (*Placed, error) {
	raw, err := base64.StdEncoding.DecodeString(text)
	if err != nil || len(raw) < s.aead.NonceSize()+s.aead.Overhead() {
		return nil, ErrUnreadable
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], aad)
	if err != nil {
		return nil, ErrUnreadable
	}
	var p Placed
	if err := json.Unmarshal(plain, &p); err != nil || p.ID == "" {
		return nil, ErrUnreadable
	}
	return &p, nil
}
