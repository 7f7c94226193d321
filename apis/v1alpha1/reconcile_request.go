package v1alpha1

// The methods below let crossplane-runtime's managed reconciler record that it
// handled a `crossplane.io/reconcile-requested-at` request, which users (and
// tests) use to ask for one more reconcile. angryjet does not generate them.

// GetLastHandledReconcileAt returns the last reconcile request token handled.
func (t *Ticket) GetLastHandledReconcileAt() string {
	return t.Status.LastHandledReconcileAt
}

// SetLastHandledReconcileAt records the last reconcile request token handled.
func (t *Ticket) SetLastHandledReconcileAt(token string) {
	t.Status.LastHandledReconcileAt = token
}

// GetLastHandledReconcileAt returns the last reconcile request token handled.
func (s *Subscription) GetLastHandledReconcileAt() string {
	return s.Status.LastHandledReconcileAt
}

// SetLastHandledReconcileAt records the last reconcile request token handled.
func (s *Subscription) SetLastHandledReconcileAt(token string) {
	s.Status.LastHandledReconcileAt = token
}
