package runtime

// The lifecycle of an instance as seen through its Runtime API. Every change
// of instance.state goes through step, which consults the transition table;
// a Runtime API call that has no transition from the current state is
// answered 403 InvalidStateTransition, as Lambda does.
//
//	starting ──next──▶ idle ──deliver──▶ invoking ──response|error──▶ responding
//	    │                ▲                   │                             │
//	init/error           └──────next──── responded ◀────────resultDone─────┘
//	    ▼                                    (timeout: invoking ──▶ dead)
//	initFailed                       any state ──exit|kill──▶ dead
//
// "responded" is the gap between a result and the runtime's next /next: the
// caller already has its answer and the pool may hand the instance another
// event, which waits until the runtime asks for it (an invoke is not
// complete until the runtime calls /next again).
type state uint8

const (
	stStarting   state = iota // process started, no /next yet (init)
	stIdle                    // called /next; no event outstanding
	stInvoking                // an event was handed out; no result yet
	stResponding              // a /response or /error body is being read
	stResponded               // result recorded; the next /next makes it idle
	stInitFailed              // posted /init/error; about to exit
	stDead                    // exited or being killed
	numStates
)

var stateNames = [numStates]string{"starting", "idle", "invoking", "responding", "responded", "initFailed", "dead"}

func (s state) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return "invalid"
}

// public is the state as InstanceInfo reports it: starting, idle, invoking or dead.
func (s state) public() string {
	switch s {
	case stStarting:
		return "starting"
	case stIdle, stResponded:
		return "idle"
	case stInvoking, stResponding:
		return "invoking"
	}
	return "dead"
}

// event is what moves an instance from one state to another.
type event uint8

const (
	evNext       event = iota // GET /runtime/invocation/next
	evDeliver                 // an event is handed to the waiting /next
	evResult                  // POST /runtime/invocation/{id}/response or /error
	evResultDone              // the result body has been read
	evInitError               // POST /runtime/init/error
	evTimeout                 // the function's deadline passed
	numEvents
)

var eventNames = [numEvents]string{"Next", "Deliver", "InvocationResponse", "ResultDone", "InitError", "Timeout"}

func (e event) String() string {
	if e < numEvents {
		return eventNames[e]
	}
	return "invalid"
}

// noTransition marks an illegal (state, event) pair.
const noTransition state = 0xff

// transitions[s][e] is the state after event e in state s. Exit and kill are
// not in the table: they are legal in every state and lead to stDead.
var transitions = func() (t [numStates][numEvents]state) {
	for s := range t {
		for e := range t[s] {
			t[s][e] = noTransition
		}
	}
	t[stStarting][evNext] = stIdle
	t[stStarting][evInitError] = stInitFailed
	t[stStarting][evTimeout] = stDead // init timeout
	t[stIdle][evNext] = stIdle        // a new poll after the old one went away
	t[stIdle][evDeliver] = stInvoking
	t[stInvoking][evResult] = stResponding
	t[stInvoking][evTimeout] = stDead
	t[stResponding][evResultDone] = stResponded
	t[stResponded][evNext] = stIdle
	return t
}()

// next returns the state after e in s, or noTransition.
func (s state) next(e event) state {
	if s >= numStates || e >= numEvents {
		return noTransition
	}
	return transitions[s][e]
}
