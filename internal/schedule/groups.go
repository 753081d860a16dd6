package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/store"
)

// Schedule groups, and the Scheduler's tags (which only groups carry).

const tagResourceArnPattern = `^arn:aws(-[a-z]+)?:scheduler:[a-z0-9\-]+:\d{12}:schedule-group\/[0-9a-zA-Z-_.]+$`

var tagResourceArnRE = regexp.MustCompile(tagResourceArnPattern)

// ensureDefaultGroup creates the "default" group on first start.
func (s *Service) ensureDefaultGroup(ctx context.Context) error {
	now := s.now()
	g := &ScheduleGroup{Name: DefaultGroup, Arn: s.groupArn(DefaultGroup), State: GroupStateActive,
		CreationDate: now, LastModificationDate: now}
	b, err := json.Marshal(g)
	if err != nil {
		return err
	}
	if _, err := s.api.Create(ctx, groupKey(DefaultGroup), b); err != nil && !errors.Is(err, store.ErrExists) {
		return fmt.Errorf("schedule: create the default group: %w", err)
	}
	return nil
}

func groupNotFound(name string) error {
	return fault.New(fault.NotFound, "Schedule group %s does not exist.", name)
}

// CreateScheduleGroup creates a schedule group. A retry with the
// ClientToken of the request that created it answers as that one did.
func (s *Service) CreateScheduleGroup(ctx context.Context, name string, tags []Tag, clientToken string) (*ScheduleGroup, error) {
	if err := checkSchedulerName(name, "name"); err != nil {
		return nil, err
	}
	if clientToken != "" {
		if err := checkPattern(clientToken, "clientToken", 1, 64, clientTokenRE, clientTokenPattern); err != nil {
			return nil, err
		}
	}
	tm, err := checkTags(nil, tags, 1)
	if err != nil {
		return nil, err
	}
	if prev, err := s.getGroup(ctx, name); err == nil {
		return s.existingGroup(prev, clientToken)
	}
	keys, err := s.api.Keys(ctx, "group.")
	if err != nil {
		return nil, fmt.Errorf("count schedule groups: %w", err)
	}
	if len(keys) >= s.limits.MaxGroups {
		return nil, &fault.Error{Kind: fault.Conflict, Reason: ReasonLimitExceeded,
			Message: fmt.Sprintf("The account already has %d schedule groups, the most it may have.", len(keys))}
	}
	now := s.now()
	g := &ScheduleGroup{Name: name, Arn: s.groupArn(name), State: GroupStateActive,
		CreationDate: now, LastModificationDate: now, Tags: tm, ClientToken: clientToken}
	b, err := json.Marshal(g)
	if err != nil {
		return nil, fmt.Errorf("encode schedule group: %w", err)
	}
	rev, err := s.api.Create(ctx, groupKey(name), b)
	if errors.Is(err, store.ErrExists) {
		prev, gerr := s.getGroup(ctx, name)
		if gerr != nil {
			return nil, fault.New(fault.Conflict, "Schedule group %s already exists.", name)
		}
		return s.existingGroup(prev, clientToken)
	}
	if err != nil {
		return nil, fmt.Errorf("store schedule group %s: %w", name, err)
	}
	g.Revision = rev
	return g, nil
}

// existingGroup answers a create of a group that exists: a retry of the
// request that created it succeeds, anything else conflicts.
func (s *Service) existingGroup(prev *ScheduleGroup, clientToken string) (*ScheduleGroup, error) {
	if clientToken != "" && prev.ClientToken == clientToken {
		return prev, nil
	}
	return nil, fault.New(fault.Conflict, "Schedule group %s already exists.", prev.Name)
}

// GetScheduleGroup returns a schedule group.
func (s *Service) GetScheduleGroup(ctx context.Context, name string) (*ScheduleGroup, error) {
	if err := checkSchedulerName(name, "name"); err != nil {
		return nil, err
	}
	return s.getGroup(ctx, name)
}

// DeleteScheduleGroup deletes a group with all its schedules. The group
// is DELETING meanwhile (no schedule can be created in it); a deletion a
// crash interrupted is finished by New.
func (s *Service) DeleteScheduleGroup(ctx context.Context, name string) error {
	if err := checkSchedulerName(name, "name"); err != nil {
		return err
	}
	if name == DefaultGroup {
		return invalid("The default schedule group cannot be deleted.")
	}
	g, err := s.getGroup(ctx, name)
	if err != nil {
		return err
	}
	if g.State != GroupStateDeleting {
		g.State = GroupStateDeleting
		g.LastModificationDate = s.now()
		b, err := json.Marshal(g)
		if err != nil {
			return fmt.Errorf("encode schedule group: %w", err)
		}
		rev, err := s.api.Update(ctx, groupKey(name), b, g.Revision)
		switch {
		case errors.Is(err, store.ErrConflict):
			return fault.New(fault.Conflict, "Schedule group %s was changed by another request at the same time; retry.", name)
		case errors.Is(err, store.ErrNotFound):
			return groupNotFound(name)
		case err != nil:
			return fmt.Errorf("mark schedule group %s deleting: %w", name, err)
		}
		g.Revision = rev
	}
	return s.deleteGroup(ctx, g)
}

// deleteGroup deletes the schedules of a DELETING group, then the group.
func (s *Service) deleteGroup(ctx context.Context, g *ScheduleGroup) error {
	entries, err := s.api.List(ctx, "schedule."+KeyPart(g.Name)+".")
	if err != nil {
		return fmt.Errorf("list schedules of group %s: %w", g.Name, err)
	}
	for _, e := range entries {
		err := s.deleteRecord(ctx, e.Key, e.Revision)
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("delete schedules of group %s: %w", g.Name, err)
		}
	}
	// A schedule updated meanwhile (the conflicts above) goes with a
	// later deletion of its record: New deletes schedules of missing groups.
	if err := s.api.Delete(ctx, groupKey(g.Name), 0); err != nil {
		return fmt.Errorf("delete schedule group %s: %w", g.Name, err)
	}
	for _, e := range entries {
		if err := s.syncDefinitions(ctx, e.Key); err != nil {
			return err
		}
	}
	s.log.Info("schedule group deleted", "group", g.Name, "schedules", len(entries))
	return nil
}

// ListScheduleGroups lists groups sorted by name, a page at a time.
func (s *Service) ListScheduleGroups(ctx context.Context, namePrefix string, maxResults int, nextToken string) ([]ScheduleGroup, string, error) {
	limit, err := pageLimit(maxResults, "maxResults")
	if err != nil {
		return nil, "", err
	}
	after, err := parseToken(nextToken)
	if err != nil {
		return nil, "", err
	}
	if namePrefix != "" {
		if err := checkSchedulerName(namePrefix, "namePrefix"); err != nil {
			return nil, "", err
		}
	}
	entries, err := s.api.List(ctx, "group.")
	if err != nil {
		return nil, "", fmt.Errorf("list schedule groups: %w", err)
	}
	var all []ScheduleGroup
	for _, e := range entries {
		g, err := decodeGroup(e)
		if err != nil {
			return nil, "", err
		}
		if strings.HasPrefix(g.Name, namePrefix) {
			all = append(all, *g)
		}
	}
	key := func(g *ScheduleGroup) string { return g.Name }
	slices.SortFunc(all, func(a, b ScheduleGroup) int { return strings.Compare(a.Name, b.Name) })
	return page(all, after, limit, key)
}

// activeGroup returns the group if it exists and is not being deleted.
func (s *Service) activeGroup(ctx context.Context, name string) (*ScheduleGroup, error) {
	g, err := s.getGroup(ctx, name)
	if err != nil {
		return nil, err
	}
	if g.State != GroupStateActive {
		return nil, groupNotFound(name)
	}
	return g, nil
}

func (s *Service) getGroup(ctx context.Context, name string) (*ScheduleGroup, error) {
	e, err := s.api.Get(ctx, groupKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, groupNotFound(name)
	}
	if err != nil {
		return nil, fmt.Errorf("read schedule group %s: %w", name, err)
	}
	return decodeGroup(e)
}

func decodeGroup(e store.Entry) (*ScheduleGroup, error) {
	var g ScheduleGroup
	if err := json.Unmarshal(e.Value, &g); err != nil {
		return nil, fmt.Errorf("decode schedule group %s: %w", e.Key, err)
	}
	g.Revision = e.Revision
	return &g, nil
}

// ---- tags

// groupOfArn returns the group a tag request names; only schedule groups
// carry tags.
func (s *Service) groupOfArn(ctx context.Context, arn string) (*ScheduleGroup, error) {
	if err := checkPattern(arn, "resourceArn", 1, 1011, tagResourceArnRE, tagResourceArnPattern); err != nil {
		return nil, err
	}
	_, name, _ := strings.Cut(arn, ":schedule-group/")
	if arn != s.groupArn(name) {
		// Another region or account: nothing Lamina keeps.
		return nil, fault.New(fault.NotFound, "Resource %s does not exist.", arn)
	}
	g, err := s.getGroup(ctx, name)
	if fault.Is(err, fault.NotFound) {
		return nil, fault.New(fault.NotFound, "Resource %s does not exist.", arn)
	}
	return g, err
}

// ListTagsForResource returns a schedule group's tags, sorted by key.
func (s *Service) ListTagsForResource(ctx context.Context, arn string) ([]Tag, error) {
	g, err := s.groupOfArn(ctx, arn)
	if err != nil {
		return nil, err
	}
	return sortedTags(g.Tags), nil
}

// TagResource adds or replaces tags of a schedule group.
func (s *Service) TagResource(ctx context.Context, arn string, tags []Tag) error {
	return s.retagGroup(ctx, arn, func(g *ScheduleGroup) error {
		tm, err := checkTags(g.Tags, tags, 1)
		g.Tags = tm
		return err
	})
}

// UntagResource removes tags of a schedule group (missing keys are ignored).
func (s *Service) UntagResource(ctx context.Context, arn string, keys []string) error {
	return s.retagGroup(ctx, arn, func(g *ScheduleGroup) error {
		for _, k := range keys {
			if err := checkLen(k, "tagKeys.member", 1, 128); err != nil {
				return err
			}
			delete(g.Tags, k)
		}
		return nil
	})
}

func (s *Service) retagGroup(ctx context.Context, arn string, edit func(*ScheduleGroup) error) error {
	for range 8 {
		g, err := s.groupOfArn(ctx, arn)
		if err != nil {
			return err
		}
		if err := edit(g); err != nil {
			return err
		}
		b, err := json.Marshal(g)
		if err != nil {
			return fmt.Errorf("encode schedule group: %w", err)
		}
		_, err = s.api.Update(ctx, groupKey(g.Name), b, g.Revision)
		if !errors.Is(err, store.ErrConflict) {
			if err != nil {
				return fmt.Errorf("store tags of %s: %w", arn, err)
			}
			return nil
		}
	}
	return fault.New(fault.Conflict, "Resource %s was changed by other requests at the same time; retry.", arn)
}

func sortedTags(m map[string]string) []Tag {
	out := make([]Tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, Tag{Key: k, Value: m[k]})
	}
	return out
}
