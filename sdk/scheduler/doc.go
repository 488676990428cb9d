// Package scheduler is a client of the v1 scheduler API: it subscribes a
// framework to a master, delivers the events of its stream to a handler,
// and makes calls on the framework's behalf.
//
// A tour:
//
//	c := scheduler.New(scheduler.Config{Master: "127.0.0.1:5050", Framework: info})
//	err := c.Run(ctx, func(ctx context.Context, ev *api.Event) error {
//		switch ev.Type {
//		case api.EventOffers:
//			// c.Accept(ctx, ...) or c.Decline(ctx, ...)
//		case api.EventUpdate:
//			// status updates are acknowledged automatically unless
//			// Config.ManualAcknowledge is set
//		}
//		return nil
//	})
//
// Run calls the handler on one goroutine, in stream order; calls such as
// Accept may be made from the handler or from any other goroutine.
package scheduler
