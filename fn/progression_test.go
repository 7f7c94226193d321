package fn

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/structpb"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// ticketIn is an observed Ticket in short: the change it was asked to
// deliver, the id of the one live, its phase and verifiedAt, its Ready
// condition (none if Ready is empty) and whether an Application holds it
// back.
type ticketIn struct {
	Change                    *v1alpha1.Change
	LiveID, Phase             string
	VerifiedAt                *metav1.Time
	Ready                     corev1.ConditionStatus
	ReadyReason, ReadyMessage string
	ReadySince                *metav1.Time
	Held                      bool
	BlockedOn                 *v1alpha1.BlockedOn
}

func (o *ticketIn) typed() *v1alpha1.Ticket {
	t := &v1alpha1.Ticket{}
	if o.Change != nil {
		t.Spec.ForProvider.Change = *o.Change
	}
	at := &t.Status.AtProvider
	at.Phase, at.VerifiedAt, at.BlockedOn = o.Phase, o.VerifiedAt, o.BlockedOn
	if o.LiveID != "" {
		at.Change = &v1alpha1.Change{ID: o.LiveID}
	}
	at.Applications = []v1alpha1.ApplicationStatus{{Name: "a", Namespace: "argocd", Sync: "Synced", Health: "Healthy"}}
	if o.Held {
		at.Applications = append(at.Applications, v1alpha1.ApplicationStatus{Name: "b", Namespace: "argocd", Message: "held back"})
	}
	if o.Ready != "" {
		c := xpv2.Condition{Type: xpv2.TypeReady, Status: o.Ready, Reason: xpv2.ConditionReason(o.ReadyReason), Message: o.ReadyMessage}
		if o.ReadySince != nil {
			c.LastTransitionTime = *o.ReadySince
		}
		t.Status.SetConditions(c)
	}
	return t
}

// subIn is an observed Subscription in short.
type subIn struct {
	Newest         *v1alpha1.Change
	OverlayChanges []v1alpha1.OverlayChange
}

// observedIn is the observed state of a case in short.
type observedIn struct {
	Subscription *subIn
	Tickets      map[string]*ticketIn
}

func (o observedIn) typed() Observed {
	out := Observed{Tickets: map[string]*v1alpha1.Ticket{}}
	if o.Subscription != nil {
		out.Subscription = &v1alpha1.Subscription{Status: v1alpha1.SubscriptionStatus{AtProvider: v1alpha1.SubscriptionObservation{
			Newest: o.Subscription.Newest, OverlayChanges: o.Subscription.OverlayChanges}}}
	}
	for path, t := range o.Tickets {
		out.Tickets[path] = t.typed()
	}
	return out
}

// blocked is a Ticket blocked on c's input: the field of spec.forProvider
// (none if empty), the problem, and its Ready message naming the field as
// the Ticket spells it.
func blocked(c *v1alpha1.Change, field, problem, ready string) *ticketIn {
	t := &ticketIn{Change: c, Phase: v1alpha1.PhaseBlocked, Ready: corev1.ConditionFalse, ReadyReason: "Unavailable", ReadyMessage: ready}
	if field != "" {
		t.BlockedOn = &v1alpha1.BlockedOn{Field: field, Problem: problem}
	}
	return t
}

func verified(c *v1alpha1.Change, d time.Duration) *ticketIn {
	return &ticketIn{Change: c, LiveID: c.ID, Phase: v1alpha1.PhaseVerified, VerifiedAt: ago(d), Ready: corev1.ConditionTrue}
}

func TestProgress(t *testing.T) {
	A, B, C := changeA, changeB, changeC
	// A2 is a newer image on A's commit; onA an overlay-only commit for
	// prod made on A's commit, discovered between A and A2.
	A2 := change("v1.0.1", time.Hour)
	if A2.Commit != A.Commit {
		t.Fatal("A2 must render A's commit")
	}
	onA := []v1alpha1.OverlayChange{{Commit: overlayCommit, BaseCommit: A.Commit, Stations: []string{"prod"}, DiscoveredAt: ago(2 * time.Hour)}}
	oc := func(stations []string, d time.Duration) []v1alpha1.OverlayChange {
		return []v1alpha1.OverlayChange{{Commit: overlayCommit, Stations: stations, DiscoveredAt: ago(d)}}
	}
	type want struct {
		changes  map[string]string // path → change id, "" for none
		phases   map[string]string
		messages map[string]string // path → message, only those with one
		// next, heldBy, heldAt and until (RFC 3339) of the stations with
		// one; TestProgressHistory tests the stations' history.
		next, heldBy, heldAt, until map[string]string
		holds                       []Hold
		standing                    []Hold
		requeue                     time.Duration
	}
	rolloutWords := `Application argocd/guestbook-int is Degraded at 0123456789abcdef0123456789abcdef01234567: Rollout guestbook-int/guestbook is Degraded: RolloutAborted: Rollout aborted update to revision 3: Step-based analysis phase error/failed: Metric "error-rate" assessed Failed due to failed (1) > failureLimit (0)`
	long := strings.Repeat("é", MaxStationMessageBytes)
	clipped := strings.Repeat("é", (MaxStationMessageBytes-len("…"))/2) + "…"
	paused := "waiting for Application argocd/guestbook-dev: Synced, Suspended: Rollout guestbook-dev/guestbook is paused at step 2 of 4 (CanaryPauseStep)"
	id := func(c *v1alpha1.Change) string { return c.ID }
	// Z is an older change prod verified long ago; H one only prod's
	// history still names.
	Z, H := change("v0.9.0", 9*time.Hour), change("v0.8.0", 20*time.Hour)
	frozen := func(by string, stations ...string) Controls {
		return Controls{Freezes: []Freeze{{Name: "guestbook", By: by, Reason: "end of quarter", Stations: stations}}}
	}
	approved := func(path string, ids ...string) Controls {
		c := Controls{Approvals: map[string]map[string]bool{path: {}}}
		for _, i := range ids {
			c.Approvals[path][i] = true
		}
		return c
	}
	junction := trackYAML("t", true, st("dev"), "{name: regions, tracks: [us, eu], approval: Manual}", st("prod"))
	// windows is Track doc with spec.windows.
	windows := func(doc string, ws ...string) string { return doc + "  windows: [" + strings.Join(ws, ", ") + "]\n" }
	// releaseFreeze is open from 11:00 to 13:00 UTC, now included.
	releaseFreeze := `{name: release-freeze, kind: deny, schedule: "0 11 * * *", duration: 2h, stations: [prod]}`
	// officeHours opens at 9:00 in Berlin (8:00 UTC in November) for two
	// hours on weekdays: closed now, a Wednesday at 13:00 in Berlin.
	officeHours := `{name: office-hours, kind: allow, schedule: "0 9 * * 1-5", duration: 2h, timeZone: Europe/Berlin, stations: [prod]}`

	us, eu := trackYAML("us", false, st("us1"), st("us2")), trackYAML("eu", false, st("eu1"))
	cases := map[string]struct {
		reason   string
		root     string
		sections map[string]string
		observed observedIn
		// controls are the Track's operator controls, history each
		// station's as the Track's status said.
		controls Controls
		history  map[string][]VerifiedChange
		want     want
	}{
		"NewestOvertakesAtStation1": {
			reason: "Station 1 always takes the newest change, even while an older one is still on its way there.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: B}, Tickets: map[string]*ticketIn{
				"dev": {Change: A, Phase: v1alpha1.PhaseSyncing, Ready: corev1.ConditionFalse},
			}},
			want: want{
				changes: map[string]string{"dev": id(B), "prod": ""},
				phases:  map[string]string{"dev": "Delivering", "prod": PhaseWaiting},
				holds:   []Hold{{Path: "dev", Reason: ReasonDelivering, Message: "dev: Ticket is delivering change " + B.ID}},
			},
		},
		"FailedTicketLendsItsWords": {
			reason: "A failed station's status and hold carry its Ticket's message: the Application, the Rollout, the metric.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": {Change: A, LiveID: A.ID, Phase: v1alpha1.PhaseFailed, Ready: corev1.ConditionFalse, ReadyReason: "Unavailable", ReadyMessage: rolloutWords, Held: true},
			}},
			want: want{
				changes:  map[string]string{"dev": id(A), "prod": ""},
				phases:   map[string]string{"dev": v1alpha1.PhaseFailed, "prod": PhaseWaiting},
				messages: map[string]string{"dev": rolloutWords},
				holds:    []Hold{{Path: "dev", Reason: ReasonHalted, Message: "dev: Ticket Failed change " + A.ID + ": " + rolloutWords + "; the stations after it are halted"}},
			},
		},
		"FailedTicketsWordsAreBounded": {
			reason: "A Ticket's message is quoted up to MaxStationMessageBytes, cut on a rune boundary.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": {Change: A, LiveID: A.ID, Phase: v1alpha1.PhaseFailed, Ready: corev1.ConditionFalse, ReadyMessage: long, Held: true},
			}},
			want: want{
				changes:  map[string]string{"dev": id(A), "prod": ""},
				phases:   map[string]string{"dev": v1alpha1.PhaseFailed, "prod": PhaseWaiting},
				messages: map[string]string{"dev": clipped},
				holds:    []Hold{{Path: "dev", Reason: ReasonHalted, Message: "dev: Ticket Failed change " + A.ID + ": " + clipped + "; the stations after it are halted"}},
			},
		},
		"BlockedOnOverlayNamesTheStationsField": {
			reason: "A Ticket blocked on its overlay names the overlay of the station, by its index in the Track's spec.stations, not the Ticket's field.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour),
				"prod": blocked(A, "overlay", `overlay "overlays/prod" does not exist at commit 666666666666: name a directory holding a kustomization.yaml`,
					`spec.forProvider.overlay "overlays/prod" does not exist at commit 666666666666: set it to a directory holding a kustomization.yaml`),
			}},
			want: want{
				changes:  map[string]string{"dev": id(A), "prod": id(A)},
				phases:   map[string]string{"dev": v1alpha1.PhaseVerified, "prod": v1alpha1.PhaseBlocked},
				messages: map[string]string{"prod": `overlay "overlays/prod" does not exist at commit 666666666666: name a directory holding a kustomization.yaml: fix spec.stations[1].overlay`},
				holds: []Hold{{Path: "prod", Reason: ReasonHalted,
					Message: "prod: Ticket Blocked change " + A.ID + `: overlay "overlays/prod" does not exist at commit 666666666666: name a directory holding a kustomization.yaml: fix spec.stations[1].overlay; the stations after it are halted`}},
			},
		},
		"BlockedOnBranchNamesTheStationsField": {
			reason: "A Ticket blocked on its rendered branch names the branch of the station.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": blocked(A, "branch", "rendered branch env/dev holds commit 777777777777, which K8sTA did not render: K8sTA publishes only to a branch it creates; give station dev a rendered branch of its own, or delete env/dev if nothing else uses it",
					"spec.forProvider.branch env/dev holds commit 777777777777, which K8sTA did not render: K8sTA publishes only to a branch it creates; give station dev a rendered branch of its own (spec.stations[].branch on the Track), or delete env/dev if nothing else uses it"),
			}},
			want: want{
				changes:  map[string]string{"dev": id(A), "prod": ""},
				phases:   map[string]string{"dev": v1alpha1.PhaseBlocked, "prod": PhaseWaiting},
				messages: map[string]string{"dev": "rendered branch env/dev holds commit 777777777777, which K8sTA did not render: K8sTA publishes only to a branch it creates; give station dev a rendered branch of its own, or delete env/dev if nothing else uses it: fix spec.stations[0].branch"},
				holds: []Hold{{Path: "dev", Reason: ReasonHalted,
					Message: "dev: Ticket Blocked change " + A.ID + ": rendered branch env/dev holds commit 777777777777, which K8sTA did not render: K8sTA publishes only to a branch it creates; give station dev a rendered branch of its own, or delete env/dev if nothing else uses it: fix spec.stations[0].branch; the stations after it are halted"}},
			},
		},
		"BlockedOnApplicationNamesTheStationsApplication": {
			reason: "A Ticket blocked on its Application j names spec.stations[i].applications[j] of the station.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour),
				"prod": blocked(A, "applications[0]", "Application argocd/app-prod not found: create it, or name an Application that exists",
					"Application argocd/app-prod not found: create it, or fix spec.forProvider.applications[0]: no such Application"),
			}},
			want: want{
				changes:  map[string]string{"dev": id(A), "prod": id(A)},
				phases:   map[string]string{"dev": v1alpha1.PhaseVerified, "prod": v1alpha1.PhaseBlocked},
				messages: map[string]string{"prod": "Application argocd/app-prod not found: create it, or name an Application that exists: fix spec.stations[1].applications[0]"},
				holds: []Hold{{Path: "prod", Reason: ReasonHalted,
					Message: "prod: Ticket Blocked change " + A.ID + ": Application argocd/app-prod not found: create it, or name an Application that exists: fix spec.stations[1].applications[0]; the stations after it are halted"}},
			},
		},
		"BlockedOnRepoURLNamesTheTracksRepo": {
			reason: "A Ticket blocked on its repository names the Track's spec.repo.url.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": blocked(A, "repo.url", "cannot reach the repository: check its URL and the network: repository unreachable",
					"cannot reach spec.forProvider.repo.url: check the URL and the network: repository unreachable"),
			}},
			want: want{
				changes:  map[string]string{"dev": id(A), "prod": ""},
				phases:   map[string]string{"dev": v1alpha1.PhaseBlocked, "prod": PhaseWaiting},
				messages: map[string]string{"dev": "cannot reach the repository: check its URL and the network: repository unreachable: fix spec.repo.url"},
				holds: []Hold{{Path: "dev", Reason: ReasonHalted,
					Message: "dev: Ticket Blocked change " + A.ID + ": cannot reach the repository: check its URL and the network: repository unreachable: fix spec.repo.url; the stations after it are halted"}},
			},
		},
		"BlockedOnChangeCommitNamesTheChange": {
			reason: "No field of the Track names a change's commit: the station says which change, and to push the commit or fix its source.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": blocked(A, "change.commit", "commit abababababababababababababababababababab of change 0a1b2c3d4e5f is not in https://git.example/acme/config.git: push it to the source branch, or fix the source of the change",
					"spec.forProvider.change.commit abababababababababababababababababababab is not in https://git.example/acme/config.git: push it to the source branch, or fix the change"),
			}},
			want: want{
				changes:  map[string]string{"dev": id(A), "prod": ""},
				phases:   map[string]string{"dev": v1alpha1.PhaseBlocked, "prod": PhaseWaiting},
				messages: map[string]string{"dev": "commit abababababababababababababababababababab of change 0a1b2c3d4e5f is not in https://git.example/acme/config.git: push it to the source branch, or fix the source of the change"},
				holds: []Hold{{Path: "dev", Reason: ReasonHalted,
					Message: "dev: Ticket Blocked change " + A.ID + ": commit abababababababababababababababababababab of change 0a1b2c3d4e5f is not in https://git.example/acme/config.git: push it to the source branch, or fix the source of the change; the stations after it are halted"}},
			},
		},
		"BlockedSectionStationNamesItsOwnTracksField": {
			reason:   "A section station's field is at its index in the section's own spec.stations, and the section is named.",
			root:     trackYAML("t", true, "{name: j, tracks: [s]}"),
			sections: map[string]string{"s": trackYAML("s", false, st("w"), st("x"))},
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"j.s.w": verified(A, time.Hour),
				"j.s.x": blocked(A, "overlay", `overlay "overlays/x" holds no kustomization.yaml at commit 666666666666: name a directory holding a kustomization.yaml`,
					`spec.forProvider.overlay "overlays/x" holds no kustomization.yaml at commit 666666666666: set it to a directory holding a kustomization.yaml`),
			}},
			want: want{
				changes:  map[string]string{"j.s.w": id(A), "j.s.x": id(A)},
				phases:   map[string]string{"j.s.w": v1alpha1.PhaseVerified, "j.s.x": v1alpha1.PhaseBlocked},
				messages: map[string]string{"j.s.x": `overlay "overlays/x" holds no kustomization.yaml at commit 666666666666: name a directory holding a kustomization.yaml: fix spec.stations[1].overlay of Track s`},
				holds: []Hold{{Path: "j.s.x", Reason: ReasonHalted,
					Message: "j.s.x: Ticket Blocked change " + A.ID + `: overlay "overlays/x" holds no kustomization.yaml at commit 666666666666: name a directory holding a kustomization.yaml: fix spec.stations[1].overlay of Track s; the stations after it are halted`}},
			},
		},
		"BlockedSectionStationNamesItsOwnTracksRepo": {
			reason:   "A section station's Ticket renders the section's repository: its spec.repo.url, the section named.",
			root:     trackYAML("t", true, "{name: j, tracks: [s]}"),
			sections: map[string]string{"s": trackYAML("s", false, st("w"))},
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"j.s.w": blocked(A, "repo.url", "cannot reach the repository: check its URL and the network: repository unreachable",
					"cannot reach spec.forProvider.repo.url: check the URL and the network: repository unreachable"),
			}},
			want: want{
				changes:  map[string]string{"j.s.w": id(A)},
				phases:   map[string]string{"j.s.w": v1alpha1.PhaseBlocked},
				messages: map[string]string{"j.s.w": "cannot reach the repository: check its URL and the network: repository unreachable: fix spec.repo.url of Track s"},
				holds: []Hold{{Path: "j.s.w", Reason: ReasonHalted,
					Message: "j.s.w: Ticket Blocked change " + A.ID + ": cannot reach the repository: check its URL and the network: repository unreachable: fix spec.repo.url of Track s; the stations after it are halted"}},
			},
		},
		"BlockedWithoutAFieldLendsItsWords": {
			reason: "A Ticket blocked on nothing the Track's user edits (the ProviderConfig's credentials) lends the station its Ready message.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": blocked(A, "", "", "git credentials were refused: check the Secret named by the ProviderConfig's spec.git.secretRef: authentication failed"),
			}},
			want: want{
				changes:  map[string]string{"dev": id(A), "prod": ""},
				phases:   map[string]string{"dev": v1alpha1.PhaseBlocked, "prod": PhaseWaiting},
				messages: map[string]string{"dev": "git credentials were refused: check the Secret named by the ProviderConfig's spec.git.secretRef: authentication failed"},
				holds: []Hold{{Path: "dev", Reason: ReasonHalted,
					Message: "dev: Ticket Blocked change " + A.ID + ": git credentials were refused: check the Secret named by the ProviderConfig's spec.git.secretRef: authentication failed; the stations after it are halted"}},
			},
		},
		"FailedTicketIgnoresAStaleBlockedOn": {
			reason: "What a Ticket was blocked on no longer holds once it is not Blocked: a Failed Ticket lends its Ready message.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": {Change: A, LiveID: A.ID, Phase: v1alpha1.PhaseFailed, Ready: corev1.ConditionFalse, ReadyMessage: "app-dev: Degraded",
					BlockedOn: &v1alpha1.BlockedOn{Field: "overlay", Problem: "stale"}},
			}},
			want: want{
				changes:  map[string]string{"dev": id(A), "prod": ""},
				phases:   map[string]string{"dev": v1alpha1.PhaseFailed, "prod": PhaseWaiting},
				messages: map[string]string{"dev": "app-dev: Degraded"},
				holds:    []Hold{{Path: "dev", Reason: ReasonHalted, Message: "dev: Ticket Failed change " + A.ID + ": app-dev: Degraded; the stations after it are halted"}},
			},
		},
		"BlockedProblemIsBounded": {
			reason: "A blocked Ticket's problem is cut on a rune boundary so that the problem and the field to fix fit in MaxStationMessageBytes: the field survives.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": blocked(A, "overlay", long, "spec.forProvider.overlay "+long),
			}},
			want: want{
				changes: map[string]string{"dev": id(A), "prod": ""},
				phases:  map[string]string{"dev": v1alpha1.PhaseBlocked, "prod": PhaseWaiting},
				// 1,024 bytes: 495 two-byte runes, "…" (3) and the fix (31).
				messages: map[string]string{"dev": strings.Repeat("é", 495) + "…: fix spec.stations[0].overlay"},
				holds:    []Hold{{Path: "dev", Reason: ReasonHalted, Message: "dev: Ticket Blocked change " + A.ID + ": " + strings.Repeat("é", 495) + "…: fix spec.stations[0].overlay; the stations after it are halted"}},
			},
		},
		"PausedRolloutSaysWhyTheStationWaits": {
			reason: "A Ticket deployed at its change whose Application says why it waits (a paused Rollout) lends the station its words.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": {Change: A, LiveID: A.ID, Phase: v1alpha1.PhaseProgressing, Ready: corev1.ConditionFalse, ReadyMessage: paused, Held: true},
			}},
			want: want{
				changes:  map[string]string{"dev": id(A), "prod": ""},
				phases:   map[string]string{"dev": "Delivering", "prod": PhaseWaiting},
				messages: map[string]string{"dev": paused},
				holds:    []Hold{{Path: "dev", Reason: ReasonDelivering, Message: "dev: Ticket is delivering change " + A.ID + ": " + paused}},
			},
		},
		"ProgressingTicketStepsAreNotTold": {
			reason: "A Ticket on its way with nothing to wait for but Argo CD keeps the station's one message: its steps would each cost a Track status write.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": {Change: A, LiveID: A.ID, Phase: v1alpha1.PhaseProgressing, Ready: corev1.ConditionFalse, ReadyMessage: "waiting for Application argocd/guestbook-dev: Synced, Progressing"},
			}},
			want: want{
				changes: map[string]string{"dev": id(A), "prod": ""},
				phases:  map[string]string{"dev": "Delivering", "prod": PhaseWaiting},
				holds:   []Hold{{Path: "dev", Reason: ReasonDelivering, Message: "dev: Ticket is delivering change " + A.ID}},
			},
		},
		"PausedTicketOnAnOlderChange": {
			reason: "A Ticket still paused on the change before says nothing of the change the station is now given.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: B}, Tickets: map[string]*ticketIn{
				"dev": {Change: A, LiveID: A.ID, Phase: v1alpha1.PhaseProgressing, Ready: corev1.ConditionFalse, ReadyMessage: paused, Held: true},
			}},
			want: want{
				changes: map[string]string{"dev": id(B), "prod": ""},
				phases:  map[string]string{"dev": "Delivering", "prod": PhaseWaiting},
				holds:   []Hold{{Path: "dev", Reason: ReasonDelivering, Message: "dev: Ticket is delivering change " + B.ID}},
			},
		},
		"StaleStatusIsNotVerified": {
			reason: "A Ticket Ready for an older change than the one it was given has verified nothing.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: B}, Tickets: map[string]*ticketIn{
				"dev": {Change: B, LiveID: A.ID, Phase: v1alpha1.PhaseRendering, Ready: corev1.ConditionTrue},
			}},
			want: want{
				changes: map[string]string{"dev": id(B), "prod": ""},
				phases:  map[string]string{"dev": "Delivering", "prod": PhaseWaiting},
				holds:   []Hold{{Path: "dev", Reason: ReasonDelivering, Message: "dev: Ticket is delivering change " + B.ID}},
			},
		},
		"SoakFallsBackToReadySince": {
			reason: "Without verifiedAt the soak counts from the Ready condition's last transition.",
			root:   trackYAML("t", true, st("dev", "soak: 1h"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": {Change: A, LiveID: A.ID, Ready: corev1.ConditionTrue, ReadySince: ago(20 * time.Minute)},
			}},
			want: want{
				changes: map[string]string{"dev": id(A), "prod": ""},
				phases:  map[string]string{"dev": PhaseSoaking, "prod": PhaseWaiting},
				holds:   []Hold{{Path: "dev", Reason: ReasonSoaking, Message: "dev: change " + A.ID + " soaks until 2026-11-25T12:40:00Z"}},
				requeue: 40 * time.Minute,
			},
		},
		"ShortestSoakRequeues": {
			reason:   "Of several pending soaks the one that ends first sets the requeue.",
			root:     trackYAML("t", true, st("dev", "soak: 10m"), "{name: j, tracks: [s]}"),
			sections: map[string]string{"s": trackYAML("s", false, st("x", "soak: 10m"))},
			observed: observedIn{Subscription: &subIn{Newest: B}, Tickets: map[string]*ticketIn{
				"dev": verified(B, 2*time.Minute), "j.s.x": verified(A, 9*time.Minute),
			}},
			want: want{
				changes: map[string]string{"dev": id(B), "j.s.x": id(A)},
				phases:  map[string]string{"dev": PhaseSoaking, "j.s.x": PhaseSoaking},
				holds:   []Hold{{Path: "dev", Reason: ReasonSoaking, Message: "dev: change " + B.ID + " soaks until 2026-11-25T12:08:00Z"}},
				requeue: time.Minute,
			},
		},
		"PinnedJunctionStopsFlow": {
			reason:   "A pinned junction without Applications holds nothing, and nothing flows past it.",
			root:     trackYAML("t", true, st("dev"), "{name: j, tracks: [s], pin: "+A.ID+"}"),
			sections: map[string]string{"s": trackYAML("s", false, st("x"))},
			observed: observedIn{Subscription: &subIn{Newest: B}, Tickets: map[string]*ticketIn{
				"dev": verified(B, time.Hour), "j.s.x": verified(A, time.Hour),
			}},
			want: want{
				changes: map[string]string{"dev": id(B), "j.s.x": id(A)},
				phases:  map[string]string{"dev": v1alpha1.PhaseVerified, "j.s.x": v1alpha1.PhaseVerified},
				holds:   []Hold{{Path: "j", Reason: ReasonPinned, Message: "j: pinned to change " + A.ID + ": nothing flows past it"}},
			},
		},
		"PinUnknown": {
			reason: "A pin naming a change no one holds keeps what the station has, and says so.",
			root:   trackYAML("t", true, st("dev", "pin: feedfeedfeed"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: B}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour),
			}},
			want: want{
				changes:  map[string]string{"dev": id(A), "prod": ""},
				phases:   map[string]string{"dev": v1alpha1.PhaseVerified, "prod": PhaseWaiting},
				messages: map[string]string{"dev": "pinned to change feedfeedfeed, which no Ticket, the Subscription or a station's history of this Track holds: holding change " + A.ID},
				next:     map[string]string{"dev": id(B)},
				heldBy:   map[string]string{"dev": HeldByPin},
				holds: []Hold{{Path: "dev", Reason: ReasonPinned,
					Message: "dev: pinned to change feedfeedfeed, which no Ticket, the Subscription or a station's history of this Track holds: holding change " + A.ID}},
			},
		},
		"JunctionTicketFeedsSections": {
			reason:   "A junction with Applications passes on only what its own Ticket verified; until then the sections keep theirs.",
			root:     trackYAML("t", true, st("dev"), st("j", "tracks: [s1, s2]")),
			sections: map[string]string{"s1": trackYAML("s1", false, st("x")), "s2": trackYAML("s2", false, st("why"))},
			observed: observedIn{Subscription: &subIn{Newest: B}, Tickets: map[string]*ticketIn{
				"dev": verified(B, time.Hour), "j": verified(A, time.Hour), "j.s1.x": verified(A, time.Hour),
			}},
			want: want{
				changes: map[string]string{"dev": id(B), "j": id(B), "j.s1.x": id(A), "j.s2.why": id(A)},
				phases:  map[string]string{"dev": v1alpha1.PhaseVerified, "j": "Delivering", "j.s1.x": v1alpha1.PhaseVerified, "j.s2.why": "Delivering"},
				holds:   []Hold{{Path: "j", Reason: ReasonDelivering, Message: "j: Ticket is delivering change " + B.ID}},
			},
		},
		"OverlayBeforeCurrentIgnored": {
			reason: "An overlay-only commit discovered before the station's change is already part of it.",
			root:   trackYAML("t", true, st("dev")),
			observed: observedIn{Subscription: &subIn{Newest: C, OverlayChanges: oc([]string{"dev"}, 2*time.Hour)}, Tickets: map[string]*ticketIn{
				"dev": verified(C, time.Minute),
			}},
			want: want{changes: map[string]string{"dev": id(C)}, phases: map[string]string{"dev": v1alpha1.PhaseVerified}},
		},
		"OverlayOnANewerBaseWaitsForIt": {
			reason: "An overlay-only commit made on top of base B does not reach a station that still holds A: B's base would skip dev's verification.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: B, OverlayChanges: []v1alpha1.OverlayChange{
				{Commit: overlayCommit, BaseCommit: B.Commit, Stations: []string{"prod"}, DiscoveredAt: ago(30 * time.Minute)},
			}}, Tickets: map[string]*ticketIn{
				"dev": {Change: B, Phase: v1alpha1.PhaseProgressing, Ready: corev1.ConditionFalse}, "prod": verified(A, time.Hour),
			}},
			want: want{
				changes: map[string]string{"dev": id(B), "prod": id(A)},
				phases:  map[string]string{"dev": "Delivering", "prod": v1alpha1.PhaseVerified},
				holds:   []Hold{{Path: "dev", Reason: ReasonDelivering, Message: "dev: Ticket is delivering change " + B.ID}},
			},
		},
		"OverlayReappliedOnNewerChange": {
			reason: "A newer change from upstream replaces the overlay-only change, which is then applied on top if it is newer still.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: B, OverlayChanges: oc([]string{"prod"}, 30*time.Minute)}, Tickets: map[string]*ticketIn{
				"dev": verified(B, time.Hour), "prod": verified(overlaid(A), time.Hour),
			}},
			want: want{
				changes: map[string]string{"dev": id(B), "prod": overlaid(B).ID},
				phases:  map[string]string{"dev": v1alpha1.PhaseVerified, "prod": "Delivering"},
				holds:   []Hold{{Path: "prod", Reason: ReasonDelivering, Message: "prod: Ticket is delivering change " + overlaid(B).ID}},
			},
		},
		"OverlaySurvivesANewImage": {
			reason: "A new image keeps the base commit, which the overlay-only commit was made on: the station renders the overlay commit with the new image, whenever it was discovered, and does not undo its overlay.",
			root:   trackYAML("t", true, st("dev"), st("prod"), st("last")),
			observed: observedIn{Subscription: &subIn{Newest: A2, OverlayChanges: onA}, Tickets: map[string]*ticketIn{
				"dev": verified(A2, time.Hour), "prod": verified(overlaid(A), time.Hour), "last": verified(A, time.Hour),
			}},
			want: want{
				changes: map[string]string{"dev": id(A2), "prod": overlaid(A2).ID, "last": id(A)},
				phases:  map[string]string{"dev": v1alpha1.PhaseVerified, "prod": "Delivering", "last": v1alpha1.PhaseVerified},
				holds:   []Hold{{Path: "prod", Reason: ReasonDelivering, Message: "prod: Ticket is delivering change " + overlaid(A2).ID}},
			},
		},
		"OverlayStationPassesOnItsUpstreamChange": {
			reason: "A station that verified its overlay-only change passes on the change from upstream it was derived from, never its overlay commit.",
			root:   trackYAML("t", true, st("dev"), st("prod"), st("last")),
			observed: observedIn{Subscription: &subIn{Newest: A2, OverlayChanges: onA}, Tickets: map[string]*ticketIn{
				"dev": verified(A2, time.Hour), "prod": verified(overlaid(A2), time.Hour), "last": verified(A, time.Hour),
			}},
			want: want{
				changes: map[string]string{"dev": id(A2), "prod": overlaid(A2).ID, "last": id(A2)},
				phases:  map[string]string{"dev": v1alpha1.PhaseVerified, "prod": v1alpha1.PhaseVerified, "last": "Delivering"},
				holds:   []Hold{{Path: "last", Reason: ReasonDelivering, Message: "last: Ticket is delivering change " + id(A2)}},
			},
		},
		"OverlayStationHoldsItsOwnChange": {
			reason: "A station that verified its overlay-only change on the change the next station already has passes nothing new on.",
			root:   trackYAML("t", true, st("dev"), st("prod"), st("last")),
			observed: observedIn{Subscription: &subIn{Newest: A, OverlayChanges: onA}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour), "prod": verified(overlaid(A), time.Hour), "last": verified(A, time.Hour),
			}},
			want: want{
				changes: map[string]string{"dev": id(A), "prod": overlaid(A).ID, "last": id(A)},
				phases:  map[string]string{"dev": v1alpha1.PhaseVerified, "prod": v1alpha1.PhaseVerified, "last": v1alpha1.PhaseVerified},
			},
		},
		"FreezeHoldsANewChange": {
			reason: "A Freeze of the whole Track keeps B out of dev, which keeps A and its phase and says what waits and why; prod waits for A behind it.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: B}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour),
			}},
			controls: frozen("alice"),
			want: want{
				changes:  map[string]string{"dev": id(A), "prod": ""},
				phases:   map[string]string{"dev": v1alpha1.PhaseVerified, "prod": PhaseWaiting},
				messages: map[string]string{"dev": "frozen by alice until lifted: end of quarter", "prod": "frozen by alice until lifted: end of quarter"},
				next:     map[string]string{"dev": id(B), "prod": id(A)},
				heldBy:   map[string]string{"dev": HeldByFreeze, "prod": HeldByFreeze},
				holds:    []Hold{{Path: "dev", Reason: ReasonFrozen, Message: "dev: frozen by alice until lifted: end of quarter"}},
			},
		},
		"FreezeWithoutWhoNamesTheFreeze": {
			reason: "A Freeze that does not say who froze names itself, so that a reader knows what to delete.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: B}, Tickets: map[string]*ticketIn{
				"dev": verified(B, time.Hour), "prod": verified(A, time.Hour),
			}},
			controls: Controls{Freezes: []Freeze{{Name: "guestbook-prod", Stations: []string{"prod"}}}},
			want: want{
				changes:  map[string]string{"dev": id(B), "prod": id(A)},
				phases:   map[string]string{"dev": v1alpha1.PhaseVerified, "prod": v1alpha1.PhaseVerified},
				messages: map[string]string{"prod": "frozen by Freeze guestbook-prod until lifted"},
				next:     map[string]string{"prod": id(B)},
				heldBy:   map[string]string{"prod": HeldByFreeze},
				holds:    []Hold{{Path: "prod", Reason: ReasonFrozen, Message: "prod: frozen by Freeze guestbook-prod until lifted"}},
			},
		},
		"FreezeLetsADeliveryFinish": {
			reason: "A change dev was given before the Freeze finishes: a Freeze holds back only new changes.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: B}, Tickets: map[string]*ticketIn{
				"dev": {Change: B, Phase: v1alpha1.PhaseSyncing, Ready: corev1.ConditionFalse},
			}},
			controls: frozen("alice"),
			want: want{
				changes: map[string]string{"dev": id(B), "prod": ""},
				phases:  map[string]string{"dev": PhaseDelivering, "prod": PhaseWaiting},
				holds:   []Hold{{Path: "dev", Reason: ReasonDelivering, Message: "dev: Ticket is delivering change " + B.ID}},
			},
		},
		"FreezeOfOneStation": {
			reason: "A Freeze of prod holds prod alone: dev takes B, and prod keeps Z with A waiting.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: B}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour), "prod": verified(Z, time.Hour),
			}},
			controls: frozen("alice", "prod"),
			want: want{
				changes:  map[string]string{"dev": id(B), "prod": id(Z)},
				phases:   map[string]string{"dev": PhaseDelivering, "prod": v1alpha1.PhaseVerified},
				messages: map[string]string{"prod": "frozen by alice until lifted: end of quarter"},
				next:     map[string]string{"prod": id(A)},
				heldBy:   map[string]string{"prod": HeldByFreeze},
				// Only the first station that holds a line back is told.
				holds: []Hold{{Path: "dev", Reason: ReasonDelivering, Message: "dev: Ticket is delivering change " + B.ID}},
			},
		},
		"FrozenStationKeepsSoaking": {
			reason: "A frozen station soaking its change keeps soaking and says it is frozen; the function still comes back when the soak ends.",
			root:   trackYAML("t", true, st("dev"), st("int", "soak: 10m"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: B}, Tickets: map[string]*ticketIn{
				"dev": verified(B, time.Hour), "int": verified(A, 4*time.Minute),
			}},
			controls: frozen("alice", "int"),
			want: want{
				changes:  map[string]string{"dev": id(B), "int": id(A), "prod": ""},
				phases:   map[string]string{"dev": v1alpha1.PhaseVerified, "int": PhaseSoaking, "prod": PhaseWaiting},
				messages: map[string]string{"int": "frozen by alice until lifted: end of quarter"},
				next:     map[string]string{"int": id(B)},
				heldBy:   map[string]string{"int": HeldByFreeze},
				holds:    []Hold{{Path: "int", Reason: ReasonFrozen, Message: "int: frozen by alice until lifted: end of quarter"}},
				requeue:  6 * time.Minute,
			},
		},
		"ApprovalWaits": {
			reason: "A change stops before a station with approval: Manual until an Approval names it.",
			root:   trackYAML("t", true, st("dev"), st("prod", "approval: Manual")),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour), "prod": verified(Z, time.Hour),
			}},
			want: want{
				changes:  map[string]string{"dev": id(A), "prod": id(Z)},
				phases:   map[string]string{"dev": v1alpha1.PhaseVerified, "prod": v1alpha1.PhaseVerified},
				messages: map[string]string{"prod": "waits for approval of change " + A.ID},
				next:     map[string]string{"prod": id(A)},
				heldBy:   map[string]string{"prod": HeldByApproval},
				holds:    []Hold{{Path: "prod", Reason: ReasonAwaitingApproval, Message: "prod: waits for approval of change " + A.ID}},
			},
		},
		"ApprovalLetsTheChangeIn": {
			reason: "An Approval of the station's path and the change lets the change in.",
			root:   trackYAML("t", true, st("dev"), st("prod", "approval: Manual")),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour), "prod": verified(Z, time.Hour),
			}},
			controls: approved("prod", A.ID),
			want: want{
				changes: map[string]string{"dev": id(A), "prod": id(A)},
				phases:  map[string]string{"dev": v1alpha1.PhaseVerified, "prod": PhaseDelivering},
				holds:   []Hold{{Path: "prod", Reason: ReasonDelivering, Message: "prod: Ticket is delivering change " + A.ID}},
			},
		},
		"ApprovalOfAnotherStationLetsNothingIn": {
			reason: "An Approval is for one station path: dev's does not let A into prod.",
			root:   trackYAML("t", true, st("dev"), st("prod", "approval: Manual")),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour), "prod": verified(Z, time.Hour),
			}},
			controls: approved("dev", A.ID),
			want: want{
				changes:  map[string]string{"dev": id(A), "prod": id(Z)},
				phases:   map[string]string{"dev": v1alpha1.PhaseVerified, "prod": v1alpha1.PhaseVerified},
				messages: map[string]string{"prod": "waits for approval of change " + A.ID},
				next:     map[string]string{"prod": id(A)},
				heldBy:   map[string]string{"prod": HeldByApproval},
				holds:    []Hold{{Path: "prod", Reason: ReasonAwaitingApproval, Message: "prod: waits for approval of change " + A.ID}},
			},
		},
		"NewerChangeOvertakesWhileAwaitingApproval": {
			reason: "B, verified at dev after A, overtakes A waiting before prod: the Approval of A does not let B in, and prod says B waits.",
			root:   trackYAML("t", true, st("dev"), st("prod", "approval: Manual")),
			observed: observedIn{Subscription: &subIn{Newest: B}, Tickets: map[string]*ticketIn{
				"dev": verified(B, time.Minute), "prod": verified(Z, time.Hour),
			}},
			controls: approved("prod", A.ID),
			want: want{
				changes:  map[string]string{"dev": id(B), "prod": id(Z)},
				phases:   map[string]string{"dev": v1alpha1.PhaseVerified, "prod": v1alpha1.PhaseVerified},
				messages: map[string]string{"prod": "waits for approval of change " + B.ID},
				next:     map[string]string{"prod": id(B)},
				heldBy:   map[string]string{"prod": HeldByApproval},
				holds:    []Hold{{Path: "prod", Reason: ReasonAwaitingApproval, Message: "prod: waits for approval of change " + B.ID}},
			},
		},
		"ApprovalDoesNotShortenASoak": {
			reason: "An Approval given before the station before verified the change for its whole soak lets nothing in early.",
			root:   trackYAML("t", true, st("dev", "soak: 10m"), st("prod", "approval: Manual")),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": verified(A, 4*time.Minute), "prod": verified(Z, time.Hour),
			}},
			controls: approved("prod", A.ID),
			want: want{
				changes: map[string]string{"dev": id(A), "prod": id(Z)},
				phases:  map[string]string{"dev": PhaseSoaking, "prod": v1alpha1.PhaseVerified},
				holds:   []Hold{{Path: "dev", Reason: ReasonSoaking, Message: "dev: change " + A.ID + " soaks until 2026-11-25T12:06:00Z"}},
				requeue: 6 * time.Minute,
			},
		},
		"FreezeOutranksApproval": {
			reason: "An approved change still waits while its station is frozen.",
			root:   trackYAML("t", true, st("dev"), st("prod", "approval: Manual")),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour), "prod": verified(Z, time.Hour),
			}},
			controls: Controls{Approvals: approved("prod", A.ID).Approvals, Freezes: frozen("alice", "prod").Freezes},
			want: want{
				changes:  map[string]string{"dev": id(A), "prod": id(Z)},
				phases:   map[string]string{"dev": v1alpha1.PhaseVerified, "prod": v1alpha1.PhaseVerified},
				messages: map[string]string{"prod": "frozen by alice until lifted: end of quarter"},
				next:     map[string]string{"prod": id(A)},
				heldBy:   map[string]string{"prod": HeldByFreeze},
				holds:    []Hold{{Path: "prod", Reason: ReasonFrozen, Message: "prod: frozen by alice until lifted: end of quarter"}},
			},
		},
		"HaltedStationKeepsItsWords": {
			reason: "A failed station whose next change waits for approval says why it failed; its status still says what waits.",
			root:   trackYAML("t", true, st("dev"), st("prod", "approval: Manual")),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev":  verified(A, time.Hour),
				"prod": {Change: Z, LiveID: Z.ID, Phase: v1alpha1.PhaseFailed, Ready: corev1.ConditionFalse, ReadyMessage: "app-prod: Degraded"},
			}},
			want: want{
				changes:  map[string]string{"dev": id(A), "prod": id(Z)},
				phases:   map[string]string{"dev": v1alpha1.PhaseVerified, "prod": v1alpha1.PhaseFailed},
				messages: map[string]string{"prod": "app-prod: Degraded"},
				next:     map[string]string{"prod": id(A)},
				heldBy:   map[string]string{"prod": HeldByApproval},
				holds:    []Hold{{Path: "prod", Reason: ReasonHalted, Message: "prod: Ticket Failed change " + Z.ID + ": app-prod: Degraded; the stations after it are halted"}},
			},
		},
		"PinObjectRollsBackThroughAFreeze": {
			reason: "A Pin outranks a Freeze: prod goes back to A, which its history lists, and says who pinned it; nothing flows past it.",
			root:   trackYAML("t", true, st("dev"), st("prod"), st("last")),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour), "prod": verified(B, time.Hour), "last": verified(B, time.Hour),
			}},
			history:  map[string][]VerifiedChange{"prod": {{Change: *B, VerifiedAt: now.Add(-time.Hour)}, {Change: *A, VerifiedAt: now.Add(-10 * time.Hour)}}},
			controls: Controls{Freezes: frozen("alice").Freezes, Pins: map[string]*Pin{"prod": {Change: A.ID, Object: "t-prod", By: "bob", Reason: "B leaks memory"}}},
			want: want{
				changes: map[string]string{"dev": id(A), "prod": id(A), "last": id(B)},
				phases:  map[string]string{"dev": v1alpha1.PhaseVerified, "prod": PhaseDelivering, "last": v1alpha1.PhaseVerified},
				messages: map[string]string{
					"dev":  "frozen by alice until lifted: end of quarter",
					"prod": "pinned to change " + A.ID + " by bob (B leaks memory): nothing flows past it",
					"last": "frozen by alice until lifted: end of quarter",
				},
				heldBy: map[string]string{"dev": HeldByFreeze, "prod": HeldByPin, "last": HeldByFreeze},
				holds:  []Hold{{Path: "prod", Reason: ReasonDelivering, Message: "prod: Ticket is delivering change " + A.ID}},
				standing: []Hold{
					{Path: "dev", Reason: ReasonFrozen, Message: "dev: frozen by alice until lifted: end of quarter"},
					{Path: "last", Reason: ReasonFrozen, Message: "last: frozen by alice until lifted: end of quarter"},
				},
			},
		},
		"PinObjectCannotSendAChangeTheStationNeverHeld": {
			reason: "A Pin object names a change dev verified but prod never held: whoever may create Pins must not send prod a change that skipped its approvals, Freezes and windows, so prod keeps B and says why.",
			root:   trackYAML("t", true, st("dev"), st("prod"), st("last")),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour), "prod": verified(B, time.Hour), "last": verified(B, time.Hour),
			}},
			controls: Controls{Pins: map[string]*Pin{"prod": {Change: A.ID, Object: "t-prod", By: "bob"}}},
			want: want{
				changes:  map[string]string{"dev": id(A), "prod": id(B), "last": id(B)},
				phases:   map[string]string{"dev": v1alpha1.PhaseVerified, "prod": v1alpha1.PhaseVerified, "last": v1alpha1.PhaseVerified},
				messages: map[string]string{"prod": "pinned by Pin t-prod to change " + A.ID + ", which the station neither holds nor lists in its history: holding change " + B.ID + "; pin it to one of those (kubectl k8sta history)"},
				next:     map[string]string{"prod": id(A)},
				heldBy:   map[string]string{"prod": HeldByPin},
				holds: []Hold{{Path: "prod", Reason: ReasonPinned,
					Message: "prod: pinned by Pin t-prod to change " + A.ID + ", which the station neither holds nor lists in its history: holding change " + B.ID + "; pin it to one of those (kubectl k8sta history)"}},
			},
		},
		"PinnedByAPinObject": {
			reason: "A station a Pin holds at its change says who pinned it, and B waits.",
			root:   trackYAML("t", true, st("dev"), st("prod"), st("last")),
			observed: observedIn{Subscription: &subIn{Newest: B}, Tickets: map[string]*ticketIn{
				"dev": verified(B, time.Hour), "prod": verified(A, time.Hour), "last": verified(Z, time.Hour),
			}},
			controls: Controls{Pins: map[string]*Pin{"prod": {Change: A.ID, Object: "t-prod", By: "bob"}}},
			want: want{
				changes:  map[string]string{"dev": id(B), "prod": id(A), "last": id(Z)},
				phases:   map[string]string{"dev": v1alpha1.PhaseVerified, "prod": v1alpha1.PhaseVerified, "last": v1alpha1.PhaseVerified},
				messages: map[string]string{"prod": "pinned to change " + A.ID + " by bob: nothing flows past it"},
				next:     map[string]string{"prod": id(B)},
				heldBy:   map[string]string{"prod": HeldByPin},
				holds:    []Hold{{Path: "prod", Reason: ReasonPinned, Message: "prod: pinned to change " + A.ID + " by bob: nothing flows past it"}},
			},
		},
		"SpecPinOutranksAPinObject": {
			reason: "The station's spec.pin comes before a Pin of it.",
			root:   trackYAML("t", true, st("dev"), st("prod", "pin: "+A.ID)),
			observed: observedIn{Subscription: &subIn{Newest: B}, Tickets: map[string]*ticketIn{
				"dev": verified(B, time.Hour), "prod": verified(A, time.Hour),
			}},
			controls: Controls{Pins: map[string]*Pin{"prod": {Change: B.ID, Object: "t-prod", By: "bob"}}},
			want: want{
				changes:  map[string]string{"dev": id(B), "prod": id(A)},
				phases:   map[string]string{"dev": v1alpha1.PhaseVerified, "prod": v1alpha1.PhaseVerified},
				messages: map[string]string{"prod": "pinned to change " + A.ID + ": nothing flows past it"},
				next:     map[string]string{"prod": id(B)},
				heldBy:   map[string]string{"prod": HeldByPin},
				holds:    []Hold{{Path: "prod", Reason: ReasonPinned, Message: "prod: pinned to change " + A.ID + ": nothing flows past it"}},
			},
		},
		"PinToAChangeOnlyHistoryKnows": {
			reason: "A Pin to a change no Ticket holds any more but prod's history names rolls prod back to it.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: B}, Tickets: map[string]*ticketIn{
				"dev": verified(B, time.Hour), "prod": verified(B, time.Hour),
			}},
			history:  map[string][]VerifiedChange{"prod": {{Change: *B, VerifiedAt: now.Add(-time.Hour)}, {Change: *H, VerifiedAt: now.Add(-10 * time.Hour)}}},
			controls: Controls{Pins: map[string]*Pin{"prod": {Change: H.ID, Object: "t-prod", By: "bob"}}},
			want: want{
				changes:  map[string]string{"dev": id(B), "prod": id(H)},
				phases:   map[string]string{"dev": v1alpha1.PhaseVerified, "prod": PhaseDelivering},
				messages: map[string]string{"prod": "pinned to change " + H.ID + " by bob: nothing flows past it"},
				next:     map[string]string{"prod": id(B)},
				heldBy:   map[string]string{"prod": HeldByPin},
				holds:    []Hold{{Path: "prod", Reason: ReasonDelivering, Message: "prod: Ticket is delivering change " + H.ID}},
			},
		},
		"OverlayOnlyChangeWaitsForApproval": {
			reason: "An overlay-only change is a new change too: it waits for its own Approval.",
			root:   trackYAML("t", true, st("dev"), st("prod", "approval: Manual")),
			observed: observedIn{Subscription: &subIn{Newest: A, OverlayChanges: onA}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour), "prod": verified(A, time.Hour),
			}},
			controls: approved("prod", A.ID),
			want: want{
				changes:  map[string]string{"dev": id(A), "prod": id(A)},
				phases:   map[string]string{"dev": v1alpha1.PhaseVerified, "prod": v1alpha1.PhaseVerified},
				messages: map[string]string{"prod": "waits for approval of change " + overlaid(A).ID},
				next:     map[string]string{"prod": overlaid(A).ID},
				heldBy:   map[string]string{"prod": HeldByApproval},
				holds:    []Hold{{Path: "prod", Reason: ReasonAwaitingApproval, Message: "prod: waits for approval of change " + overlaid(A).ID}},
			},
		},
		"OverlayOnlyChangeIsFrozen": {
			reason: "A Freeze holds an overlay-only change back as any other.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: A, OverlayChanges: onA}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour), "prod": verified(A, time.Hour),
			}},
			controls: frozen("alice", "prod"),
			want: want{
				changes:  map[string]string{"dev": id(A), "prod": id(A)},
				phases:   map[string]string{"dev": v1alpha1.PhaseVerified, "prod": v1alpha1.PhaseVerified},
				messages: map[string]string{"prod": "frozen by alice until lifted: end of quarter"},
				next:     map[string]string{"prod": overlaid(A).ID},
				heldBy:   map[string]string{"prod": HeldByFreeze},
				holds:    []Hold{{Path: "prod", Reason: ReasonFrozen, Message: "prod: frozen by alice until lifted: end of quarter"}},
			},
		},
		"JunctionAwaitsApproval": {
			reason: "A junction without Applications that says approval: Manual holds A back from its sections and from the station after it, and says so once.",
			root:   junction, sections: map[string]string{"us": us, "eu": eu},
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour), "regions.us.us1": verified(Z, time.Hour),
			}},
			want: want{
				changes: map[string]string{"dev": id(A), "regions.us.us1": id(Z), "regions.us.us2": id(Z), "regions.eu.eu1": "", "prod": ""},
				phases: map[string]string{"dev": v1alpha1.PhaseVerified, "regions.us.us1": v1alpha1.PhaseVerified, "regions.us.us2": PhaseDelivering,
					"regions.eu.eu1": PhaseWaiting, "prod": PhaseWaiting},
				messages: map[string]string{"regions.us.us1": "regions: waits for approval of change " + A.ID, "regions.eu.eu1": "regions: waits for approval of change " + A.ID,
					"prod": "regions: waits for approval of change " + A.ID},
				next:   map[string]string{"regions.us.us1": id(A), "regions.eu.eu1": id(A), "prod": id(A)},
				heldBy: map[string]string{"regions.us.us1": HeldByApproval, "regions.eu.eu1": HeldByApproval, "prod": HeldByApproval},
				// An Approval of regions lets A in; one of prod would not.
				heldAt: map[string]string{"regions.us.us1": "regions", "regions.eu.eu1": "regions", "prod": "regions"},
				// Told once, at the junction; us2, after us1 on its line,
				// takes what us1 verified, untold.
				holds: []Hold{{Path: "regions", Reason: ReasonAwaitingApproval, Message: "regions: waits for approval of change " + A.ID}},
			},
		},
		"JunctionApproved": {
			reason: "An Approval of the junction's path and the change lets it into every section and the station after it.",
			root:   junction, sections: map[string]string{"us": us, "eu": eu},
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour), "regions.us.us1": verified(Z, time.Hour), "regions.us.us2": verified(Z, time.Hour),
			}},
			controls: approved("regions", A.ID),
			want: want{
				changes: map[string]string{"dev": id(A), "regions.us.us1": id(A), "regions.us.us2": id(Z), "regions.eu.eu1": id(A), "prod": id(A)},
				phases: map[string]string{"dev": v1alpha1.PhaseVerified, "regions.us.us1": PhaseDelivering, "regions.us.us2": v1alpha1.PhaseVerified,
					"regions.eu.eu1": PhaseDelivering, "prod": PhaseDelivering},
				holds: []Hold{
					{Path: "regions.us.us1", Reason: ReasonDelivering, Message: "regions.us.us1: Ticket is delivering change " + A.ID},
					{Path: "regions.eu.eu1", Reason: ReasonDelivering, Message: "regions.eu.eu1: Ticket is delivering change " + A.ID},
					{Path: "prod", Reason: ReasonDelivering, Message: "prod: Ticket is delivering change " + A.ID},
				},
			},
		},
		"JunctionHoldsNothingItPassedOn": {
			reason: "With the change already in every station the junction feeds, nothing waits for its approval, whatever became of the Approval.",
			root:   junction, sections: map[string]string{"us": us, "eu": eu},
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour), "regions.us.us1": verified(A, time.Hour), "regions.us.us2": verified(A, time.Hour),
				"regions.eu.eu1": verified(A, time.Hour), "prod": verified(A, time.Hour),
			}},
			want: want{
				changes: map[string]string{"dev": id(A), "regions.us.us1": id(A), "regions.us.us2": id(A), "regions.eu.eu1": id(A), "prod": id(A)},
				phases: map[string]string{"dev": v1alpha1.PhaseVerified, "regions.us.us1": v1alpha1.PhaseVerified, "regions.us.us2": v1alpha1.PhaseVerified,
					"regions.eu.eu1": v1alpha1.PhaseVerified, "prod": v1alpha1.PhaseVerified},
			},
		},
		"FreezeOfAJunctionCoversItsSections": {
			reason: "A Freeze of a junction's path holds back what it passes on, told once at the junction, and every station of its sections; the station after it, not in a section, is held back by the junction.",
			root:   trackYAML("t", true, st("dev"), "{name: regions, tracks: [us, eu]}", st("prod")), sections: map[string]string{"us": us, "eu": eu},
			observed: observedIn{Subscription: &subIn{Newest: B}, Tickets: map[string]*ticketIn{
				"dev": verified(B, time.Hour), "regions.us.us1": verified(A, time.Hour), "regions.us.us2": verified(Z, time.Hour),
				"regions.eu.eu1": verified(A, time.Hour),
			}},
			controls: frozen("alice", "regions"),
			want: want{
				changes: map[string]string{"dev": id(B), "regions.us.us1": id(A), "regions.us.us2": id(Z), "regions.eu.eu1": id(A), "prod": ""},
				phases: map[string]string{"dev": v1alpha1.PhaseVerified, "regions.us.us1": v1alpha1.PhaseVerified, "regions.us.us2": v1alpha1.PhaseVerified,
					"regions.eu.eu1": v1alpha1.PhaseVerified, "prod": PhaseWaiting},
				messages: map[string]string{"regions.us.us1": "regions: frozen by alice until lifted: end of quarter", "regions.us.us2": "frozen by alice until lifted: end of quarter",
					"regions.eu.eu1": "regions: frozen by alice until lifted: end of quarter", "prod": "regions: frozen by alice until lifted: end of quarter"},
				next: map[string]string{"regions.us.us1": id(B), "regions.us.us2": id(A), "regions.eu.eu1": id(B), "prod": id(B)},
				heldBy: map[string]string{"regions.us.us1": HeldByFreeze, "regions.us.us2": HeldByFreeze, "regions.eu.eu1": HeldByFreeze,
					"prod": HeldByFreeze},
				// us2, after us1 on its line, is held by the Freeze as it
				// covers it, not by the junction's barrier.
				heldAt: map[string]string{"regions.us.us1": "regions", "regions.eu.eu1": "regions", "prod": "regions"},
				holds:  []Hold{{Path: "regions", Reason: ReasonFrozen, Message: "regions: frozen by alice until lifted: end of quarter"}},
			},
		},
		"ApprovalInASection": {
			reason:   "A section's station with approval: Manual waits for an Approval of its path; the other section moves on.",
			root:     trackYAML("t", true, st("dev"), "{name: regions, tracks: [us, eu]}"),
			sections: map[string]string{"us": trackYAML("us", false, st("us1"), st("us2", "approval: Manual")), "eu": eu},
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour), "regions.us.us1": verified(A, time.Hour), "regions.us.us2": verified(Z, time.Hour),
				"regions.eu.eu1": verified(Z, time.Hour),
			}},
			controls: approved("us2", A.ID),
			want: want{
				changes:  map[string]string{"dev": id(A), "regions.us.us1": id(A), "regions.us.us2": id(Z), "regions.eu.eu1": id(A)},
				phases:   map[string]string{"dev": v1alpha1.PhaseVerified, "regions.us.us1": v1alpha1.PhaseVerified, "regions.us.us2": v1alpha1.PhaseVerified, "regions.eu.eu1": PhaseDelivering},
				messages: map[string]string{"regions.us.us2": "waits for approval of change " + A.ID},
				next:     map[string]string{"regions.us.us2": id(A)},
				heldBy:   map[string]string{"regions.us.us2": HeldByApproval},
				holds: []Hold{
					{Path: "regions.us.us2", Reason: ReasonAwaitingApproval, Message: "regions.us.us2: waits for approval of change " + A.ID},
					{Path: "regions.eu.eu1", Reason: ReasonDelivering, Message: "regions.eu.eu1: Ticket is delivering change " + A.ID},
				},
			},
		},
		"DenyWindowHolds": {
			reason: "A change does not enter a station inside a deny window: prod keeps Z, says until when, and the function comes back when the window closes.",
			root:   windows(trackYAML("t", true, st("dev"), st("prod")), releaseFreeze),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour), "prod": verified(Z, time.Hour),
			}},
			want: want{
				changes:  map[string]string{"dev": id(A), "prod": id(Z)},
				phases:   map[string]string{"dev": v1alpha1.PhaseVerified, "prod": v1alpha1.PhaseVerified},
				messages: map[string]string{"prod": `deny window "release-freeze" until 2026-11-25T13:00Z`},
				next:     map[string]string{"prod": id(A)},
				heldBy:   map[string]string{"prod": HeldByWindow},
				until:    map[string]string{"prod": "2026-11-25T13:00:00Z"},
				holds:    []Hold{{Path: "prod", Reason: ReasonOutsideWindow, Message: `prod: deny window "release-freeze" until 2026-11-25T13:00Z`}},
				requeue:  time.Hour,
			},
		},
		"WindowOfAnotherStation": {
			reason: "A window applies to the stations it names: dev takes B inside prod's deny window.",
			root:   windows(trackYAML("t", true, st("dev"), st("prod")), releaseFreeze),
			observed: observedIn{Subscription: &subIn{Newest: B}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour), "prod": verified(A, time.Hour),
			}},
			want: want{
				changes:  map[string]string{"dev": id(B), "prod": id(A)},
				phases:   map[string]string{"dev": PhaseDelivering, "prod": v1alpha1.PhaseVerified},
				messages: map[string]string{"prod": `deny window "release-freeze" until 2026-11-25T13:00Z`},
				heldBy:   map[string]string{"prod": HeldByWindow},
				until:    map[string]string{"prod": "2026-11-25T13:00:00Z"},
				holds:    []Hold{{Path: "dev", Reason: ReasonDelivering, Message: "dev: Ticket is delivering change " + B.ID}},
				// prod holds nothing back yet, but shows the window that
				// will hold B, and the function comes back when it closes.
				standing: []Hold{{Path: "prod", Reason: ReasonOutsideWindow, Message: `prod: deny window "release-freeze" until 2026-11-25T13:00Z`}},
				requeue:  time.Hour,
			},
		},
		"FreezeShowsBeforeAChangeArrives": {
			reason: "A frozen station that holds the newest change holds nothing back, and says it is frozen: the operator sees the Freeze took.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour), "prod": verified(A, time.Hour),
			}},
			controls: frozen("alice", "prod"),
			want: want{
				changes:  map[string]string{"dev": id(A), "prod": id(A)},
				phases:   map[string]string{"dev": v1alpha1.PhaseVerified, "prod": v1alpha1.PhaseVerified},
				messages: map[string]string{"prod": "frozen by alice until lifted: end of quarter"},
				heldBy:   map[string]string{"prod": HeldByFreeze},
				standing: []Hold{{Path: "prod", Reason: ReasonFrozen, Message: "prod: frozen by alice until lifted: end of quarter"}},
			},
		},
		"WindowLetsADeliveryFinish": {
			reason: "A change prod was given before the window opened finishes.",
			root:   windows(trackYAML("t", true, st("dev"), st("prod")), releaseFreeze),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour), "prod": {Change: A, Phase: v1alpha1.PhaseSyncing, Ready: corev1.ConditionFalse},
			}},
			want: want{
				changes: map[string]string{"dev": id(A), "prod": id(A)},
				phases:  map[string]string{"dev": v1alpha1.PhaseVerified, "prod": PhaseDelivering},
				holds:   []Hold{{Path: "prod", Reason: ReasonDelivering, Message: "prod: Ticket is delivering change " + A.ID}},
			},
		},
		"OutsideAllowWindowInItsZone": {
			reason: "Outside its only allow window, a change waits until the window next opens, in the window's time zone: 9:00 in Berlin is 8:00 UTC.",
			root:   windows(trackYAML("t", true, st("dev"), st("prod")), officeHours),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour), "prod": verified(Z, time.Hour),
			}},
			want: want{
				changes:  map[string]string{"dev": id(A), "prod": id(Z)},
				phases:   map[string]string{"dev": v1alpha1.PhaseVerified, "prod": v1alpha1.PhaseVerified},
				messages: map[string]string{"prod": `outside allow window "office-hours" until 2026-11-26T08:00Z`},
				next:     map[string]string{"prod": id(A)},
				heldBy:   map[string]string{"prod": HeldByWindow},
				until:    map[string]string{"prod": "2026-11-26T08:00:00Z"},
				holds:    []Hold{{Path: "prod", Reason: ReasonOutsideWindow, Message: `prod: outside allow window "office-hours" until 2026-11-26T08:00Z`}},
				requeue:  20 * time.Hour,
			},
		},
		"InsideAllowWindow": {
			reason: "Inside an allow window the change enters.",
			root: windows(trackYAML("t", true, st("dev"), st("prod")),
				`{name: office-hours, kind: allow, schedule: "0 9 * * 1-5", duration: 8h, timeZone: Europe/Berlin}`),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour), "prod": verified(Z, time.Hour),
			}},
			want: want{
				changes: map[string]string{"dev": id(A), "prod": id(A)},
				phases:  map[string]string{"dev": v1alpha1.PhaseVerified, "prod": PhaseDelivering},
				holds:   []Hold{{Path: "prod", Reason: ReasonDelivering, Message: "prod: Ticket is delivering change " + A.ID}},
			},
		},
		"FreezeOutranksWindow": {
			reason: "A station frozen inside a deny window says it is frozen: the window would close, the Freeze will not.",
			root:   windows(trackYAML("t", true, st("dev"), st("prod")), releaseFreeze),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour), "prod": verified(Z, time.Hour),
			}},
			controls: frozen("alice", "prod"),
			want: want{
				changes:  map[string]string{"dev": id(A), "prod": id(Z)},
				phases:   map[string]string{"dev": v1alpha1.PhaseVerified, "prod": v1alpha1.PhaseVerified},
				messages: map[string]string{"prod": "frozen by alice until lifted: end of quarter"},
				next:     map[string]string{"prod": id(A)},
				heldBy:   map[string]string{"prod": HeldByFreeze},
				holds:    []Hold{{Path: "prod", Reason: ReasonFrozen, Message: "prod: frozen by alice until lifted: end of quarter"}},
			},
		},
		"WindowOutranksApproval": {
			reason: "An approved change still waits for its window.",
			root:   windows(trackYAML("t", true, st("dev"), st("prod", "approval: Manual")), releaseFreeze),
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour), "prod": verified(Z, time.Hour),
			}},
			controls: approved("prod", A.ID),
			want: want{
				changes:  map[string]string{"dev": id(A), "prod": id(Z)},
				phases:   map[string]string{"dev": v1alpha1.PhaseVerified, "prod": v1alpha1.PhaseVerified},
				messages: map[string]string{"prod": `deny window "release-freeze" until 2026-11-25T13:00Z`},
				next:     map[string]string{"prod": id(A)},
				heldBy:   map[string]string{"prod": HeldByWindow},
				until:    map[string]string{"prod": "2026-11-25T13:00:00Z"},
				holds:    []Hold{{Path: "prod", Reason: ReasonOutsideWindow, Message: `prod: deny window "release-freeze" until 2026-11-25T13:00Z`}},
				requeue:  time.Hour,
			},
		},
		"WindowOfAJunctionCoversItsSections": {
			reason: "A window naming a junction applies to what it passes on, told once at the junction, and to every station of its sections.",
			root: windows(trackYAML("t", true, st("dev"), "{name: regions, tracks: [us, eu]}"),
				`{name: release-freeze, kind: deny, schedule: "0 11 * * *", duration: 2h, stations: [regions]}`),
			sections: map[string]string{"us": us, "eu": eu},
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour), "regions.us.us1": verified(Z, time.Hour), "regions.us.us2": verified(H, time.Hour),
			}},
			want: want{
				changes: map[string]string{"dev": id(A), "regions.us.us1": id(Z), "regions.us.us2": id(H), "regions.eu.eu1": ""},
				phases: map[string]string{"dev": v1alpha1.PhaseVerified, "regions.us.us1": v1alpha1.PhaseVerified, "regions.us.us2": v1alpha1.PhaseVerified,
					"regions.eu.eu1": PhaseWaiting},
				messages: map[string]string{"regions.us.us1": `regions: deny window "release-freeze" until 2026-11-25T13:00Z`,
					"regions.us.us2": `deny window "release-freeze" until 2026-11-25T13:00Z`,
					"regions.eu.eu1": `regions: deny window "release-freeze" until 2026-11-25T13:00Z`},
				next:    map[string]string{"regions.us.us1": id(A), "regions.us.us2": id(Z), "regions.eu.eu1": id(A)},
				heldBy:  map[string]string{"regions.us.us1": HeldByWindow, "regions.us.us2": HeldByWindow, "regions.eu.eu1": HeldByWindow},
				heldAt:  map[string]string{"regions.us.us1": "regions", "regions.eu.eu1": "regions"},
				until:   map[string]string{"regions.us.us1": "2026-11-25T13:00:00Z", "regions.us.us2": "2026-11-25T13:00:00Z", "regions.eu.eu1": "2026-11-25T13:00:00Z"},
				holds:   []Hold{{Path: "regions", Reason: ReasonOutsideWindow, Message: `regions: deny window "release-freeze" until 2026-11-25T13:00Z`}},
				requeue: time.Hour,
			},
		},
		"SectionsOwnWindow": {
			reason: "A section's window applies to its own stations only; the root Track's do too.",
			root:   trackYAML("t", true, st("dev"), "{name: regions, tracks: [us]}"),
			sections: map[string]string{"us": windows(trackYAML("us", false, st("us1"), st("us2")),
				`{kind: allow, schedule: "0 9 * * 1-5", duration: 2h, timeZone: Europe/Berlin, stations: [us2]}`)},
			observed: observedIn{Subscription: &subIn{Newest: A}, Tickets: map[string]*ticketIn{
				"dev": verified(A, time.Hour), "regions.us.us1": verified(A, time.Hour), "regions.us.us2": verified(Z, time.Hour),
			}},
			want: want{
				changes:  map[string]string{"dev": id(A), "regions.us.us1": id(A), "regions.us.us2": id(Z)},
				phases:   map[string]string{"dev": v1alpha1.PhaseVerified, "regions.us.us1": v1alpha1.PhaseVerified, "regions.us.us2": v1alpha1.PhaseVerified},
				messages: map[string]string{"regions.us.us2": "outside allow window spec.windows[0] of Track us until 2026-11-26T08:00Z"},
				next:     map[string]string{"regions.us.us2": id(A)},
				heldBy:   map[string]string{"regions.us.us2": HeldByWindow},
				until:    map[string]string{"regions.us.us2": "2026-11-26T08:00:00Z"},
				holds:    []Hold{{Path: "regions.us.us2", Reason: ReasonOutsideWindow, Message: "regions.us.us2: outside allow window spec.windows[0] of Track us until 2026-11-26T08:00Z"}},
				requeue:  20 * time.Hour,
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			root, err := ParseTrack("t", obj(y(t, tc.root), "spec"))
			if err != nil {
				t.Fatal(err)
			}
			x, errs := Expand(root, specLookup(func(n string) (*structpb.Struct, bool) {
				s, ok := tc.sections[n]
				if !ok {
					return nil, false
				}
				return obj(y(t, s), "spec"), true
			}))
			if !errs.None() {
				t.Fatal(errs)
			}
			if tc.observed.Tickets == nil {
				tc.observed.Tickets = map[string]*ticketIn{}
			}
			o := tc.observed.typed()
			o.Controls, o.History = tc.controls, tc.history
			p := Progress(x, o, now)
			got := want{changes: map[string]string{}, phases: map[string]string{}, holds: p.Holds, standing: p.Standing, requeue: p.Requeue}
			set := func(m *map[string]string, path, v string) {
				if v == "" {
					return
				}
				if *m == nil {
					*m = map[string]string{}
				}
				(*m)[path] = v
			}
			for _, s := range p.Stations {
				got.changes[s.Stop.Path] = ""
				if s.Change != nil {
					got.changes[s.Stop.Path] = s.Change.ID
				}
				got.phases[s.Stop.Path] = s.Phase
				set(&got.messages, s.Stop.Path, s.Message)
				if s.Next != nil {
					set(&got.next, s.Stop.Path, s.Next.ID)
				}
				set(&got.heldBy, s.Stop.Path, s.HeldBy)
				set(&got.heldAt, s.Stop.Path, s.HeldAt)
				if !s.Until.IsZero() {
					set(&got.until, s.Stop.Path, s.Until.UTC().Format(time.RFC3339))
				}
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("%s\nProgress(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestBefore(t *testing.T) {
	t1, t2 := ago(time.Hour), ago(time.Minute)
	for name, tc := range map[string]struct {
		a, b *metav1.Time
		want bool
	}{
		"Earlier":      {a: t1, b: t2, want: true},
		"Later":        {a: t2, b: t1, want: false},
		"UnknownFirst": {a: nil, b: t1, want: true},
		"UnknownLast":  {a: t1, b: nil, want: false},
	} {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, before(tc.a, tc.b)); diff != "" {
				t.Errorf("before(...): -want, +got:\n%s", diff)
			}
		})
	}
}
