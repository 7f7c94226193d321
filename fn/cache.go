package fn

import (
	"reflect"

	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/apimachinery/pkg/types"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/fn/internal/lru"
)

// What one function process keeps between calls. Crossplane calls the
// function again and again for every Track, mostly with the same observed
// Tickets and to compose the same desired ones: reading each observed Ticket
// once per resourceVersion, and encoding each desired Ticket once per
// content, saves most of a call. Each cache is bounded by entries and by
// the bytes they hold, whatever tenants write into their Tracks and
// whatever the provider writes into Tickets' status.
const (
	// An observed Ticket as the function reads it is counted at about
	// 1.3 KiB (its 608-byte struct, two changes, a condition, their
	// strings): 4096 of them are some 5 MiB.
	maxObservedEntries = 4096
	maxObservedBytes   = 16 << 20
	// A desired Ticket is counted at about 7 KiB, at most what it holds:
	// its key (its typed content, some 300 bytes) and its encoding, with
	// the parts it shares with other Tickets (its change, apiVersion and kind, its
	// Track's repository) counted whole, and maps at twice their size.
	// 4096 of them are counted at some 28 MiB.
	maxDesiredEntries = 4096
	maxDesiredBytes   = 32 << 20
	// A station's history entry is counted at some 500 bytes: a change of
	// one image, its times and the key's strings. 16384 of them, eight
	// Tracks of MaxStops stations at their whole history, are some 8 MiB.
	maxHistoryEntries = 16384
	maxHistoryBytes   = 8 << 20
	// The histories of a Track are read once per resourceVersion: 1024
	// Tracks, each counted at the entries it holds.
	maxHistoriesEntries = 1024
	maxHistoriesBytes   = 16 << 20
)

// A readTicket is an observed Ticket as the function read it, and the
// resourceVersion it read, which the API server changes with every write.
type readTicket struct {
	resourceVersion string
	ticket          *v1alpha1.Ticket
}

// A composedID names a composed object: the Ticket of a station of a Track
// (a section's for a station in a section), or with no station the
// Subscription of a Track. A section is fed by one junction, so no two
// Tracks compose the same one.
type composedID struct {
	namespace, track, station string
}

// An encodedObject is a composed object as encoded, and the key of its
// typed content.
type encodedObject struct {
	key    string
	object *structpb.Struct
}

// caches are what a Function keeps between calls.
type caches struct {
	// observed are observed Tickets as read, by uid, each at the last
	// version read: an older version is never asked for again. Shared
	// between calls: nothing may modify them.
	observed *lru.Cache[types.UID, readTicket]
	// desired are desired Tickets and Subscriptions as encoded, each the
	// last encoded for its object, with the key of its typed content
	// (typedpb.AppendKey). Shared between calls and responses: nothing may
	// modify them.
	desired *lru.Cache[composedID, encodedObject]
	// history are the entries of stations' histories as read from the
	// Tracks' status, by their id and times. Shared between calls: nothing
	// may modify them.
	history *lru.Cache[historyKey, VerifiedChange]
	// histories are each Track's stations' histories as read, by the
	// Track's uid, at the last version read. Shared between calls:
	// nothing may modify them.
	histories *lru.Cache[types.UID, readHistory]
}

func newCaches() caches {
	return caches{
		observed:  lru.New[types.UID, readTicket](maxObservedEntries, maxObservedBytes),
		desired:   lru.New[composedID, encodedObject](maxDesiredEntries, maxDesiredBytes),
		history:   lru.New[historyKey, VerifiedChange](maxHistoryEntries, maxHistoryBytes),
		histories: lru.New[types.UID, readHistory](maxHistoriesEntries, maxHistoriesBytes),
	}
}

// ticketSize is the size of a Ticket struct, which an observed Ticket holds
// besides what its fields point to.
var ticketSize = int(reflect.TypeFor[v1alpha1.Ticket]().Size())
