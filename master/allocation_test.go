package master

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

func TestOfferEvents(t *testing.T) {
	tests := []struct {
		name   string
		offers int
		max    int
		want   []int // offers per event
	}{
		{name: "none", offers: 0, max: 3, want: nil},
		{name: "fewer than max", offers: 2, max: 3, want: []int{2}},
		{name: "exactly max", offers: 3, max: 3, want: []int{3}},
		{name: "split", offers: 7, max: 3, want: []int{3, 3, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var offers []api.Offer
			for i := range tt.offers {
				offers = append(offers, api.Offer{ID: api.OfferID{Value: fmt.Sprint(i)}})
			}
			evs := offerEvents(offers, tt.max)
			if len(evs) != len(tt.want) {
				t.Fatalf("%d events, want %d", len(evs), len(tt.want))
			}
			next := 0
			for i, ev := range evs {
				if ev.Type != api.EventOffers || len(ev.Offers.Offers) != tt.want[i] {
					t.Fatalf("event %d: %s with %d offers, want OFFERS with %d", i, ev.Type, len(ev.Offers.Offers), tt.want[i])
				}
				for _, o := range ev.Offers.Offers {
					if o.ID.Value != fmt.Sprint(next) {
						t.Fatalf("offer %s out of order, want %d", o.ID.Value, next)
					}
					next++
				}
			}
		})
	}
}

func TestRefuseDuration(t *testing.T) {
	secs := func(v float64) *api.Filters { return &api.Filters{RefuseSeconds: api.Ptr(api.Float64(v))} }
	tests := []struct {
		name    string
		filters *api.Filters
		want    time.Duration
	}{
		{"no filters: Mesos's default", nil, 5 * time.Second},
		{"unset: the default", &api.Filters{}, 5 * time.Second},
		{"zero: no filter", secs(0), 0},
		{"fraction", secs(2.5), 2500 * time.Millisecond},
		{"negative: the default", secs(-1), 5 * time.Second},
		{"NaN: the default", secs(math.NaN()), 5 * time.Second},
		{"a year and more: capped at 365 days", secs(1e12), 365 * 24 * time.Hour},
		{"infinity: capped", secs(math.Inf(1)), 365 * 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := refuseDuration(tt.filters); got != tt.want {
				t.Fatalf("refuseDuration = %v, want %v", got, tt.want)
			}
		})
	}
}
