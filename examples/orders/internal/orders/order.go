package orders

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Order is what a client places (the API's Order model checks the same
// rules before the function runs; Validate is the function's own guard).
type Order struct {
	Customer string `json:"customer"`
	Items    []Item `json:"items"`
	Note     string `json:"note,omitempty"`
}

// Item is one line of an order.
type Item struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

// Placed is an order as it travels on the queue (sealed) and is recorded.
type Placed struct {
	ID       string    `json:"id"`
	PlacedAt time.Time `json:"placedAt"`
	Order
}

// Validate reports what is wrong with an order, all problems at once.
func (o *Order) Validate() error {
	var errs []error
	if strings.TrimSpace(o.Customer) == "" {
		errs = append(errs, errors.New("customer is required"))
	}
	if len(o.Items) == 0 {
		errs = append(errs, errors.New("items must hold at least one item"))
	}
	for i, it := range o.Items {
		if strings.TrimSpace(it.SKU) == "" {
			errs = append(errs, fmt.Errorf("items[%d].sku is required", i))
		}
		if it.Qty < 1 {
			errs = append(errs, fmt.Errorf("items[%d].qty must be at least 1", i))
		}
	}
	return errors.Join(errs...)
}

// DecodeOrder reads a request body strictly: unknown fields are errors.
func DecodeOrder(body []byte) (*Order, error) {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	var o Order
	if err := dec.Decode(&o); err != nil {
		return nil, fmt.Errorf("invalid order: %w", err)
	}
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("invalid order: %w", err)
	}
	return &o, nil
}
