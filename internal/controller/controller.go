// Package controller sets up every provider-k8sta controller.
package controller

import (
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"

	"github.com/k8sta/k8sta/internal/controller/config"
	"github.com/k8sta/k8sta/internal/controller/subscription"
	"github.com/k8sta/k8sta/internal/controller/ticket"
	"github.com/k8sta/k8sta/internal/gitrepo"
	"github.com/k8sta/k8sta/internal/metrics"
	"github.com/k8sta/k8sta/internal/render"
)

// Options configure every controller.
type Options struct {
	controller.Options

	// Repos is the one clone cache every controller shares.
	Repos *gitrepo.Cache
	// Author signs rendered commits.
	Author gitrepo.Signature
	// Renderer builds overlays, within the operator's limits.
	Renderer *render.Renderer
	// MinSubscriptionInterval is the floor under Subscription poll intervals.
	MinSubscriptionInterval time.Duration
	// InsecureRegistries are registry hosts reached over plain HTTP.
	InsecureRegistries []string
	// WakeSubscriptions carries Subscriptions that webhooks wake
	// (subscription.WakeEvent).
	WakeSubscriptions <-chan event.GenericEvent
	// RegistryTagsWindow is how old a tags list a Subscription's poll
	// accepts when no webhook woke it (registry.WithTagsWindow).
	RegistryTagsWindow time.Duration
	// Metrics record what the controllers do; nil records nothing. Repos,
	// Renderer and the webhook receiver are given their observers where
	// they are made.
	Metrics *metrics.Metrics
}

// Setup adds every controller to mgr.
func Setup(mgr ctrl.Manager, o Options) error {
	if err := config.Setup(mgr, o.Options); err != nil {
		return err
	}
	if err := ticket.Setup(mgr, ticket.Options{Options: o.Options, Repos: o.Repos, Author: o.Author, Renderer: o.Renderer, Metrics: o.Metrics}); err != nil {
		return err
	}
	return subscription.Setup(mgr, subscription.Options{
		Options:            o.Options,
		Repos:              o.Repos,
		MinInterval:        o.MinSubscriptionInterval,
		InsecureRegistries: o.InsecureRegistries,
		Wake:               o.WakeSubscriptions,
		TagsWindow:         o.RegistryTagsWindow,
		RegistryRequests:   o.Metrics.RegistryRequest,
	})
}
