// Package writes keeps the provider's controllers from writing what changes
// nothing: status updates equal to the stored status, Events that repeat the
// last one recorded for the same object, and finalizers on resources whose
// deletion has nothing to clean up.
//
// Every write costs the API server, and every change to a Ticket or a
// Subscription also wakes the composition of the Track that composes it, at
// a cost Crossplane charges to that Track's circuit breaker. crossplane-
// runtime's managed reconciler updates the status and may record an Event at
// the end of every reconcile, whether or not anything changed; the wrappers
// here sit under it.
package writes
