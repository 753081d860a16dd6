package queue

import "strings"

// validName reports whether name is a legal queue name: 1 to 80
// characters of [A-Za-z0-9_-], counting a ".fifo" suffix, which only FIFO
// queues carry.
func validName(name string) bool {
	base := strings.TrimSuffix(name, ".fifo")
	if len(name) < 1 || len(name) > MaxQueueNameLength || base == "" {
		return false
	}
	for i := 0; i < len(base); i++ {
		c := base[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func isFIFOName(name string) bool { return strings.HasSuffix(name, ".fifo") }

// ARN is the ARN of queue name in the service's account and region.
func (s *Service) ARN(name string) string {
	return "arn:aws:sqs:" + s.region + ":" + s.account + ":" + name
}

// NameFromARN returns the queue name an ARN of this account and region
// designates. It does not check that the queue exists.
func (s *Service) NameFromARN(arn string) (string, error) {
	parts := strings.Split(arn, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sqs" || parts[1] == "" || parts[5] == "" {
		return "", errInvalidParam("Value %s for parameter QueueArn is invalid. Reason: not a valid queue ARN.", arn)
	}
	if parts[3] != s.region || parts[4] != s.account || !validName(parts[5]) {
		return "", errNoQueue()
	}
	return parts[5], nil
}
