// Package lru is a least-recently-used cache bounded both by how many
// entries it keeps and by how many bytes they hold, safe for concurrent use.
package lru

import (
	"reflect"
	"sync"
)

// A Cache keeps the values most recently added or got, evicting the least
// recently used ones beyond its bounds.
type Cache[K comparable, V any] struct {
	mu         sync.Mutex
	maxEntries int
	maxBytes   int
	bytes      int
	items      map[K]*entry[K, V]
	root       entry[K, V] // root.next is the most recently used entry, root.prev the least
}

type entry[K comparable, V any] struct {
	key        K
	value      V
	size       int
	prev, next *entry[K, V]
}

// New returns a Cache of at most maxEntries entries holding at most maxBytes
// bytes.
func New[K comparable, V any](maxEntries, maxBytes int) *Cache[K, V] {
	c := &Cache[K, V]{maxEntries: maxEntries, maxBytes: maxBytes, items: make(map[K]*entry[K, V])}
	c.root.next, c.root.prev = &c.root, &c.root
	return c
}

// Overhead is what the Cache itself holds per entry, besides what its key
// and value point to: the entry and its share of the index.
func (c *Cache[K, V]) Overhead() int {
	e := reflect.TypeFor[entry[K, V]]()
	k := reflect.TypeFor[K]()
	p := reflect.TypeFor[*entry[K, V]]()
	// An index slot is a key, a pointer and a control byte, at most 8/7 full.
	return int(e.Size()) + (int(k.Size())+int(p.Size())+1)*8/7
}

// Get returns the value of key k, if the Cache holds one.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.unlink(e)
	c.pushFront(e)
	return e.value, true
}

// Add keeps v as the value of key k, which with the Cache's Overhead hold
// size bytes, evicting the least recently used entries beyond the Cache's
// bounds. A value larger than the Cache's whole byte bound is not kept.
func (c *Cache[K, V]) Add(k K, v V, size int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.remove(e)
	}
	if size > c.maxBytes || c.maxEntries <= 0 {
		return
	}
	e := &entry[K, V]{key: k, value: v, size: size}
	c.items[k] = e
	c.pushFront(e)
	c.bytes += size
	for len(c.items) > c.maxEntries || c.bytes > c.maxBytes {
		c.remove(c.root.prev)
	}
}

// Len is how many entries the Cache holds.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// Bytes is how many bytes the Cache's entries hold, by their sizes.
func (c *Cache[K, V]) Bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

func (c *Cache[K, V]) remove(e *entry[K, V]) {
	c.unlink(e)
	delete(c.items, e.key)
	c.bytes -= e.size
}

func (c *Cache[K, V]) unlink(e *entry[K, V]) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (c *Cache[K, V]) pushFront(e *entry[K, V]) {
	e.prev, e.next = &c.root, c.root.next
	c.root.next.prev = e
	c.root.next = e
}
