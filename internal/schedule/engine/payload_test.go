package engine

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/schedule"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func ptr(s string) *string { return &s }

func TestPayload(t *testing.T) {
	at := time.Date(2015, 10, 8, 16, 53, 6, 250_000_000, time.UTC)
	rule := &schedule.Definition{
		Kind: schedule.KindRule, Group: "default", Name: "my-schedule", TargetID: "t1",
		ARN: "arn:aws:events:us-east-1:123456789012:rule/my-schedule",
	}
	ruleInput := *rule
	ruleInput.Target.Input = ptr(`{"constant":"<aws.scheduler.schedule-arn>"}`)
	s := sched("nightly", "cron(0 3 * * ? *)", at)
	s.ARN = "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/nightly"
	withInput := *s
	withInput.Target.Input = ptr(`{"arn":"<aws.scheduler.schedule-arn>","at":"<aws.scheduler.scheduled-time>",` +
		`"id":"<aws.scheduler.execution-id>","n":<aws.scheduler.attempt-number>,"twice":"<aws.scheduler.attempt-number>"}`)
	plain := *s
	plain.Target.Input = ptr(`"just a string"`)
	id := FiringID(rule, at)
	tests := []struct {
		name   string
		def    *schedule.Definition
		want   string // "" = the golden file
		golden string
	}{
		{"rule without input: Scheduled Event", rule, "", "scheduled_event.json"},
		{"rule with input: verbatim, no placeholders", &ruleInput, `{"constant":"<aws.scheduler.schedule-arn>"}`, ""},
		{"schedule without input", s, `{}`, ""},
		{"schedule input without placeholders", &plain, `"just a string"`, ""},
		{"schedule placeholders", &withInput, `{"arn":"arn:aws:scheduler:eu-west-1:123456789012:schedule/default/nightly",` +
			`"at":"2015-10-08T16:53:06Z","id":"` + id + `","n":1,"twice":"1"}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Payload(tc.def, at, id)
			if !json.Valid(got) {
				t.Fatalf("payload is not JSON: %s", got)
			}
			want := []byte(tc.want)
			if tc.golden != "" {
				path := filepath.Join("testdata", tc.golden)
				if *update {
					var buf bytes.Buffer
					_ = json.Indent(&buf, got, "", "  ")
					buf.WriteByte('\n')
					if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				g, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				if err := json.Compact(&buf, g); err != nil {
					t.Fatal(err)
				}
				want = buf.Bytes()
			}
			if !bytes.Equal(got, want) {
				t.Errorf("payload\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestFiringID(t *testing.T) {
	d := sched("a", "rate(1 minute)", t0)
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	id := FiringID(d, t0)
	if !uuidRE.MatchString(id) {
		t.Fatalf("id %q is not a name-based UUID", id)
	}
	other := *d
	other.TargetID = "x"
	for name, same := range map[string]bool{
		FiringID(d, t0.In(time.FixedZone("X", 3600))): true, // same instant
		FiringID(d, t0.Add(time.Minute)):              false,
		FiringID(d, t0.Add(time.Millisecond)):         false,
		FiringID(&other, t0):                          false,
	} {
		if (name == id) != same {
			t.Errorf("id %s vs %s: same=%v, want %v", name, id, name == id, same)
		}
	}
}

func TestArnRegionAccount(t *testing.T) {
	for _, tc := range []struct{ arn, region, account string }{
		{"arn:aws:events:us-east-1:123456789012:rule/r", "us-east-1", "123456789012"},
		{"arn:aws:events:eu-west-3:000000000000:rule/bus/r:x", "eu-west-3", "000000000000"},
		{"not-an-arn", "", ""},
	} {
		if r, a := arnRegionAccount(tc.arn); r != tc.region || a != tc.account {
			t.Errorf("%s: %q %q, want %q %q", tc.arn, r, a, tc.region, tc.account)
		}
	}
}

func TestHistogram(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.9, 900 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}} {
		got := h.quantile(tc.q)
		if got < tc.want || float64(got) > 1.125*float64(tc.want) {
			t.Errorf("q%.2f = %s, want within 12.5%% above %s", tc.q, got, tc.want)
		}
	}
	if h.max != time.Second || h.n != 1000 {
		t.Errorf("max %s n %d", h.max, h.n)
	}
	for _, d := range []time.Duration{0, 15 * time.Microsecond, 16 * time.Microsecond, 17 * time.Microsecond, time.Hour, -time.Second} {
		i := bucketOf(d)
		lo := time.Duration(0)
		if i > 0 {
			lo = upper(i-1) + 1
		}
		if d >= 0 && (d < lo || d > upper(i)) {
			t.Errorf("%s in bucket %d [%s, %s]", d, i, lo, upper(i))
		}
	}
	var empty histogram
	if empty.quantile(0.99) != 0 {
		t.Error("empty histogram has a p99")
	}
}
