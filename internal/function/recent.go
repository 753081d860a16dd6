package function

import "sync"

// recentCode keeps the deployment packages this process uploaded last, so
// the first invocation after a deploy (a cold start) need not read the
// package back from the store. Code keys are never reused for other bytes,
// so an entry is always right; entries leave oldest first once the total
// passes the budget.
type recentCode struct {
	mu     sync.Mutex
	budget int
	size   int
	order  []string
	zips   map[string][]byte
}

// recentCodeBudget bounds the memory the recent packages hold.
const recentCodeBudget = 128 << 20

func (r *recentCode) put(key string, zip []byte) {
	if len(zip) > r.budget {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.zips == nil {
		r.zips = map[string][]byte{}
	}
	if _, ok := r.zips[key]; ok {
		return
	}
	r.zips[key] = zip
	r.order = append(r.order, key)
	r.size += len(zip)
	for r.size > r.budget && len(r.order) > 0 {
		old := r.order[0]
		r.order = r.order[1:]
		r.size -= len(r.zips[old])
		delete(r.zips, old)
	}
}

func (r *recentCode) get(key string) ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.zips[key]
	return b, ok
}
