package esm

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Keys in the bucket. A mapping lives under mappingPrefix+UUID; pairPrefix
// keys (a digest of source and function) hold the UUID of the one mapping
// of that pair, so that a second one is refused atomically with KV.Create,
// across nodes.
const (
	Bucket        = "event-source-mappings"
	mappingPrefix = "mapping."
	pairPrefix    = "pair."
)

// definition is a mapping as stored. State is not stored: it follows from
// Enabled (the transient states only appear in the answers to the calls
// that cause them).
type definition struct {
	UUID                  string   `json:"uuid"`
	EventSourceARN        string   `json:"eventSourceArn"`
	FunctionARN           string   `json:"functionArn"`
	BatchSize             int      `json:"batchSize"`
	WindowSeconds         int      `json:"windowSeconds"`
	FunctionResponseTypes []string `json:"functionResponseTypes,omitempty"`
	MaximumConcurrency    int      `json:"maximumConcurrency,omitempty"`
	Filters               []Filter `json:"filters,omitempty"`
	Enabled               bool     `json:"enabled"`
	LastModified          int64    `json:"lastModifiedMs"`
}

func mappingKey(uuid string) string { return mappingPrefix + uuid }

// pairKey is the uniqueness key of a (source, function) pair.
func pairKey(sourceARN, functionARN string) string {
	sum := sha256.Sum256([]byte(sourceARN + "\n" + functionARN))
	return pairPrefix + hex.EncodeToString(sum[:16])
}

func (d *definition) encode() []byte {
	b, err := json.Marshal(d)
	if err != nil {
		panic(fmt.Sprintf("esm: encode definition: %v", err)) // plain data: cannot fail
	}
	return b
}

func decodeDefinition(b []byte) (*definition, error) {
	var d definition
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("esm: decode definition: %w", err)
	}
	return &d, nil
}

func (d *definition) reportsBatchItemFailures() bool {
	for _, t := range d.FunctionResponseTypes {
		if t == ReportBatchItemFailures {
			return true
		}
	}
	return false
}

// mapping renders the definition as the API shows it, in its settled state.
func (d *definition) mapping() Mapping {
	state := StateEnabled
	if !d.Enabled {
		state = StateDisabled
	}
	return Mapping{
		UUID:                  d.UUID,
		EventSourceARN:        d.EventSourceARN,
		FunctionARN:           d.FunctionARN,
		BatchSize:             d.BatchSize,
		MaximumBatchingWindow: time.Duration(d.WindowSeconds) * time.Second,
		FunctionResponseTypes: append([]string(nil), d.FunctionResponseTypes...),
		MaximumConcurrency:    d.MaximumConcurrency,
		Filters:               append([]Filter(nil), d.Filters...),
		State:                 state,
		StateTransitionReason: "USER_INITIATED",
		LastModified:          time.UnixMilli(d.LastModified),
		LastProcessingResult:  resultNone,
	}
}
