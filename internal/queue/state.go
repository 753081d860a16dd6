package queue

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/lamina-dev/lamina/internal/store"
)

// mstate is where a message is in its life.
type mstate uint8

const (
	stDelayed  mstate = iota + 1 // sent with a delay that has not passed
	stReady                      // may be received
	stInflight                   // received; invisible until visibleAt
	stMoving                     // being moved to another queue (redrive, move task)
)

// message is one live message in memory.
type message struct {
	rec
	key       mkey
	state     mstate
	gen       uint32 // bumped on every state change; ready entries carry it
	visibleAt time.Time
	receives  int
	firstRecv time.Time
	nonce     uint32 // of the latest receive; the receipt handle carries it
	grp       *group // FIFO only
	gone      bool
	visIdx    int // position in queue.visible, -1 when absent
	retIdx    int // position in queue.retained, -1 when absent
}

// group is a FIFO message group: its live messages in send order and how
// many of them are in flight (a group with any in flight is locked).
type group struct {
	id        string
	msgs      []*message
	inflight  int
	queued    bool // has an entry in queue.groupQ for its current head
	queuedKey mkey
}

type readyEntry struct {
	key mkey
	m   *message
	gen uint32
}

type groupEntry struct {
	key mkey
	g   *group
}

type dedupEntry struct {
	id  string
	seq string
	exp time.Time
}

type dedupRef struct {
	key string
	exp time.Time
}

// queue is one queue incarnation: its journal and its in-memory state.
//
// Locking: q.sendMu (FIFO sends only) is taken before q.mu; q.mu is never
// held across a store call; Service.mu may be taken before q.mu, never
// after it.
type queue struct {
	svc     *Service
	name    string
	arn     string
	inc     uint64
	fifo    bool // never changes; readable without q.mu
	stream  store.Stream
	subjS   string // send records
	subjD   string // delete records
	done    chan struct{}
	kick    chan struct{} // wakes the timer goroutine
	stopped sync.Once
	// delivered, while a zero-visibility take runs (under mu), collects
	// the messages it hands out so that they are made ready at its end.
	delivered *[]*message

	// sendMu serialises FIFO sends so that order and the deduplication
	// check-then-publish are atomic.
	sendMu sync.Mutex

	mu        sync.Mutex
	def       definition
	cfg       config
	deleted   bool
	msgs      map[mkey]*message
	ready     pq[readyEntry] // standard queues
	groups    map[string]*group
	groupQ    pq[groupEntry] // FIFO: unlocked groups whose head is ready
	visible   mheap          // delayed and in-flight messages by visibleAt
	retained  mheap          // every live message by SentTimestamp (retention)
	armed     time.Time
	nReady    int
	nInflight int // includes stMoving
	nDelayed  int
	wake      chan struct{} // closed (and replaced) when a message may be ready
	waiting   int           // receivers blocked on wake
	nonce     uint32
	highSeq   uint64            // highest journal sequence applied
	pending   map[uint64]uint64 // publishes in progress: id → lowest sequence they can get
	pendingID uint64
	recLive   map[uint64]int // send record sequence → live messages from it
	recSeqs   pq[uint64]
	compacted uint64 // journal purged below this sequence
	lastPurge time.Time
	dedup     map[string]dedupEntry
	dedupQ    []dedupRef
	attempts  map[string]attempt // FIFO ReceiveRequestAttemptId → its receive
}

func newQueue(s *Service, def definition, st store.Stream) *queue {
	prefix := streamName(def.ID)
	q := &queue{
		svc:     s,
		name:    def.Name,
		arn:     s.ARN(def.Name),
		inc:     def.ID,
		fifo:    def.Attrs[AttrFifoQueue] == "true",
		stream:  st,
		subjS:   prefix + ".s",
		subjD:   prefix + ".d",
		done:    make(chan struct{}),
		kick:    make(chan struct{}, 1),
		def:     def,
		cfg:     parseConfig(def.Attrs),
		msgs:    make(map[mkey]*message),
		groups:  make(map[string]*group),
		wake:    make(chan struct{}),
		pending: make(map[uint64]uint64),
		recLive: make(map[uint64]int),
		dedup:   make(map[string]dedupEntry),
		// Receive nonces start at a random point so that a handle from
		// before a restart does not match a receive after it.
		nonce: uint32(newIncarnation()),
	}
	q.ready.less = func(a, b readyEntry) bool { return keyLess(a.key, b.key) }
	q.groupQ.less = func(a, b groupEntry) bool { return keyLess(a.key, b.key) }
	q.visible = mheap{
		less: func(a, b *message) bool { return a.visibleAt.Before(b.visibleAt) },
		pos:  func(m *message) *int { return &m.visIdx },
	}
	q.retained = mheap{
		less: func(a, b *message) bool { return a.sent.Before(b.sent) },
		pos:  func(m *message) *int { return &m.retIdx },
	}
	q.recSeqs.less = func(a, b uint64) bool { return a < b }
	return q
}

func streamName(id uint64) string { return fmt.Sprintf("queue_%016x", id) }

// seqNumber formats a FIFO message's SequenceNumber from its key: it
// grows with send order, as SQS's does.
func seqNumber(k mkey) string { return fmt.Sprintf("%020d", k.seq<<16|uint64(k.idx)) }

// The methods below are called with q.mu held.

func (q *queue) counter(st mstate) *int {
	switch st {
	case stDelayed:
		return &q.nDelayed
	case stReady:
		return &q.nReady
	case stInflight, stMoving:
		return &q.nInflight
	}
	return nil
}

func (q *queue) setState(m *message, st mstate) {
	if c := q.counter(m.state); c != nil {
		*c--
	}
	if c := q.counter(st); c != nil {
		*c++
	}
	m.state = st
	m.gen++
}

// signal wakes the receivers waiting for a message.
func (q *queue) signal() {
	if q.waiting > 0 {
		close(q.wake)
		q.wake = make(chan struct{})
	}
}

// insert adds a message just stored in (or replayed from) the journal.
func (q *queue) insert(m *message, now time.Time) {
	q.msgs[m.key] = m
	if q.recLive[m.key.seq] == 0 {
		q.recSeqs.push(m.key.seq)
	}
	q.recLive[m.key.seq]++
	if q.cfg.fifo {
		g := q.groups[m.group]
		if g == nil {
			g = &group{id: m.group}
			q.groups[m.group] = g
		}
		m.grp = g
		// Sends to a FIFO queue are serialised, so appending keeps order;
		// the search only matters for replays and moves.
		if n := len(g.msgs); n == 0 || keyLess(g.msgs[n-1].key, m.key) {
			g.msgs = append(g.msgs, m)
		} else {
			i, _ := slices.BinarySearchFunc(g.msgs, m, func(a, b *message) int {
				if keyLess(a.key, b.key) {
					return -1
				}
				if keyLess(b.key, a.key) {
					return 1
				}
				return 0
			})
			g.msgs = slices.Insert(g.msgs, i, m)
		}
	}
	m.visIdx, m.retIdx = -1, -1
	q.retained.set(m)
	q.kickTimer(m.sent.Add(q.cfg.retention))
	if at := m.sent.Add(m.delay); m.delay > 0 && at.After(now) {
		q.setState(m, stDelayed)
		q.setVisibleAt(m, at)
		return
	}
	q.makeReady(m)
}

// makeReady makes m receivable at once.
func (q *queue) makeReady(m *message) {
	prev := m.state
	q.setState(m, stReady)
	q.visible.remove(m)
	m.visibleAt = time.Time{}
	if q.cfg.fifo {
		if prev == stInflight || prev == stMoving {
			m.grp.inflight--
		}
		q.checkGroup(m.grp)
		return
	}
	q.ready.push(readyEntry{key: m.key, m: m, gen: m.gen})
	q.signal()
}

// checkGroup drops the group's deleted head messages and queues the group
// for receiving when it is unlocked and its head is ready.
func (q *queue) checkGroup(g *group) {
	i := 0
	for i < len(g.msgs) && g.msgs[i].gone {
		g.msgs[i] = nil
		i++
	}
	if i > 0 {
		g.msgs = g.msgs[i:]
	}
	if len(g.msgs) == 0 {
		if g.inflight == 0 && q.groups[g.id] == g {
			delete(q.groups, g.id)
		}
		return
	}
	head := g.msgs[0]
	if g.inflight > 0 || head.state != stReady {
		return
	}
	if g.queued && g.queuedKey == head.key {
		return
	}
	g.queued, g.queuedKey = true, head.key
	q.groupQ.push(groupEntry{key: head.key, g: g})
	q.signal()
}

// remove forgets m (deleted, expired, moved or purged).
func (q *queue) remove(m *message) {
	if m.gone {
		return
	}
	wasHeld := m.state == stInflight || m.state == stMoving
	q.setState(m, 0)
	q.visible.remove(m)
	q.retained.remove(m)
	m.gone = true
	delete(q.msgs, m.key)
	if n := q.recLive[m.key.seq] - 1; n > 0 {
		q.recLive[m.key.seq] = n
	} else {
		delete(q.recLive, m.key.seq)
	}
	if q.cfg.fifo {
		if wasHeld {
			m.grp.inflight--
		}
		// A deleted message in the middle of a group is dropped once it
		// reaches the head.
		q.checkGroup(m.grp)
	}
}

// minLive is the lowest journal sequence still needed: below it every
// send record has no live message, and publishes in progress may still
// land at or above their floor.
func (q *queue) minLive() uint64 {
	low := q.highSeq + 1
	for {
		s, ok := q.recSeqs.peek()
		if !ok {
			break
		}
		if q.recLive[s] == 0 {
			q.recSeqs.pop()
			continue
		}
		low = min(low, s)
		break
	}
	for _, f := range q.pending {
		low = min(low, f)
	}
	return low
}

// addPending registers a publish about to start; its record will get a
// sequence above everything applied so far.
func (q *queue) addPending() uint64 {
	q.pendingID++
	q.pending[q.pendingID] = q.highSeq + 1
	return q.pendingID
}

func (q *queue) clearMessages(below uint64) {
	for _, m := range q.msgs {
		if m.key.seq < below {
			q.remove(m)
		}
	}
}

// trimDedup forgets deduplication ids whose window has passed.
func (q *queue) trimDedup(now time.Time) {
	i := 0
	for ; i < len(q.dedupQ); i++ {
		r := q.dedupQ[i]
		if r.exp.After(now) {
			break
		}
		if e, ok := q.dedup[r.key]; ok && !e.exp.After(now) {
			delete(q.dedup, r.key)
		}
	}
	if i > 0 {
		q.dedupQ = slices.Delete(q.dedupQ, 0, i)
	}
}

func (q *queue) dedupKey(r *rec) string {
	if q.cfg.groupScope {
		return r.group + "\x00" + r.dedup
	}
	return r.dedup
}

func (q *queue) counts() Counts {
	return Counts{Visible: q.nReady, NotVisible: q.nInflight, Delayed: q.nDelayed}
}
