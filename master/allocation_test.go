package master

import (
	"fmt"
	"testing"

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
