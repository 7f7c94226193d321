// Package registry selects the newest image of a repository, by a Track's
// strategy and filters, from a registry's tags, and resolves its digest.
//
// A registry's answers are tenant input: every read is bounded (see
// MaxResponseBytes, MaxTags), concurrent polls of one repository share one
// tags list, and what a Client learned with one set of credentials is never
// shared with another.
package registry
