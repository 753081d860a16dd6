package orders

import (
	"context"
	"fmt"
	"sort"
)

// DepthReader reads a queue's approximate counts.
type DepthReader interface {
	Depth(ctx context.Context, queueURL string) (visible, inFlight int, err error)
}

// QueueDepth is one queue's backlog.
type QueueDepth struct {
	Queue    string `json:"queue"`
	Visible  int    `json:"visible"`
	InFlight int    `json:"inFlight"`
}

// Report reads every queue's depth, sorted by name.
func Report(ctx context.Context, r DepthReader, queues map[string]string) ([]QueueDepth, error) {
	names := make([]string, 0, len(queues))
	for n := range queues {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]QueueDepth, 0, len(names))
	for _, n := range names {
		v, f, err := r.Depth(ctx, queues[n])
		if err != nil {
			return nil, fmt.Errorf("depth of %s: %w", n, err)
		}
		out = append(out, QueueDepth{Queue: n, Visible: v, InFlight: f})
	}
	return out, nil
}

// EMF renders the depths as one CloudWatch embedded-metric-format record,
// so a log pipeline that understands EMF turns the line into metrics.
func EMF(depths []QueueDepth, timestampMillis int64) map[string]any {
	rec := map[string]any{
		"_aws": map[string]any{
			"Timestamp": timestampMillis,
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  "LaminaExamples/Orders",
				"Dimensions": [][]string{{"Queue"}},
				"Metrics":    []any{map[string]any{"Name": "Visible", "Unit": "Count"}, map[string]any{"Name": "InFlight", "Unit": "Count"}},
			}},
		},
	}
	// EMF puts one dimension value per record; a report of several queues
	// lists them in "depths" and the first queue's figures at the top.
	if len(depths) > 0 {
		rec["Queue"], rec["Visible"], rec["InFlight"] = depths[0].Queue, depths[0].Visible, depths[0].InFlight
	}
	rec["depths"] = depths
	return rec
}
