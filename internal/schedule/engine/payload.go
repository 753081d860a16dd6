package engine

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lamina-dev/lamina/internal/schedule"
)

// firingSpace is the UUID namespace of firing IDs (fixed: IDs must be the
// same in every release so that a repeat is recognised).
var firingSpace = uuid.MustParse("a15600df-e9b1-4868-a3f9-e85de417a20e")

// FiringID is the deterministic ID of d's occurrence at scheduled: a
// name-based UUID of the ARN, the target ID and the scheduled time.
func FiringID(d *schedule.Definition, scheduled time.Time) string {
	name := d.ARN + "\x00" + d.TargetID + "\x00" + scheduled.UTC().Format(time.RFC3339Nano)
	return uuid.NewSHA1(firingSpace, []byte(name)).String()
}

// newFiring builds the Firing of d's occurrence at scheduled.
func newFiring(d *schedule.Definition, scheduled time.Time) schedule.Firing {
	id := FiringID(d, scheduled)
	return schedule.Firing{Definition: d, ScheduledTime: scheduled, ID: id, Payload: Payload(d, scheduled, id)}
}

// Payload is what the target of d receives for the occurrence at scheduled
// with firing ID id (see the package documentation).
func Payload(d *schedule.Definition, scheduled time.Time, id string) json.RawMessage {
	at := scheduled.UTC().Format(time.RFC3339)
	if d.Kind == schedule.KindRule {
		if d.Target.Input != nil {
			return json.RawMessage(*d.Target.Input)
		}
		return scheduledEvent(d, at, id)
	}
	input := "{}"
	if d.Target.Input != nil {
		input = *d.Target.Input
	}
	if !strings.Contains(input, "<aws.scheduler.") {
		return json.RawMessage(input)
	}
	// The values hold no character that JSON would escape (ARN names are
	// [0-9A-Za-z-_.]), so they go in as they are.
	return json.RawMessage(strings.NewReplacer(
		"<aws.scheduler.schedule-arn>", d.ARN,
		"<aws.scheduler.scheduled-time>", at,
		"<aws.scheduler.execution-id>", id,
		"<aws.scheduler.attempt-number>", "1",
	).Replace(input))
}

// event is EventBridge's "Scheduled Event" envelope, fields in AWS's order.
type event struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

func scheduledEvent(d *schedule.Definition, at, id string) json.RawMessage {
	region, account := arnRegionAccount(d.ARN)
	b, _ := json.Marshal(event{
		Version: "0", ID: id, DetailType: "Scheduled Event", Source: "aws.events",
		Account: account, Time: at, Region: region,
		Resources: []string{d.ARN}, Detail: json.RawMessage("{}"),
	})
	return b
}

// arnRegionAccount returns the region and account fields of an ARN
// (arn:partition:service:region:account:resource).
func arnRegionAccount(arn string) (region, account string) {
	f := strings.SplitN(arn, ":", 6)
	if len(f) < 6 {
		return "", ""
	}
	return f[3], f[4]
}
