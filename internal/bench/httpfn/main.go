// Command httpfn is the benchmark's baseline: the same handler logic as
// echofn, served by one plain net/http hop. It listens on $PORT.
package main

import (
	"encoding/json"
	"net/http"
	"os"
	"time"
)

type event struct {
	Message string `json:"message"`
	SleepMs int    `json:"sleepMs,omitempty"`
}

type reply struct {
	Echo string `json:"echo"`
}

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		var ev event
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil && r.Method == http.MethodPost {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if ev.SleepMs > 0 {
			time.Sleep(time.Duration(ev.SleepMs) * time.Millisecond)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(reply{Echo: ev.Message})
	})
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil); err != nil {
		os.Exit(1)
	}
}
