// Package controller sets up every provider-k8sta controller.
package controller

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/k8sta/k8sta/internal/controller/config"
	"github.com/k8sta/k8sta/internal/controller/ticket"
)

// Setup adds every controller to mgr.
func Setup(mgr ctrl.Manager, o ticket.Options) error {
	if err := config.Setup(mgr, o.Options); err != nil {
		return err
	}
	return ticket.Setup(mgr, o)
}
