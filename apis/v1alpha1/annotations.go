package v1alpha1

// AnnotationReleasedAt is when the change a Ticket delivers was released to
// its station, as an RFC 3339 time: when the station before it verified the
// change, or, at a Track's first station, when the change was discovered.
// The composition function sets it; the provider reads it to measure the
// hop from the station before to this one (k8sta_hop_seconds), and never
// for anything else.
const AnnotationReleasedAt = "k8sta.io/released-at"
