// Command function serves function-k8sta, the composition function that
// expands a Track into a Subscription and per-station Tickets.
package main

import (
	// The function's image has no zoneinfo: promotion windows load their
	// time zones from the copy this embeds.
	_ "time/tzdata"

	"github.com/alecthomas/kong"

	function "github.com/crossplane/function-sdk-go"

	"github.com/k8sta/k8sta/fn"
)

// version is set at build time (make images: -X main.version).
var version = "dev"

// CLI of function-k8sta, as function-template-go has it.
type CLI struct {
	Debug bool `help:"Emit debug logs in addition to info logs." short:"d"`

	Network            string `default:"tcp"   help:"Network on which to listen for gRPC connections."`
	Address            string `default:":9443" help:"Address at which to listen for gRPC connections."`
	TLSCertsDir        string `env:"TLS_SERVER_CERTS_DIR"       help:"Directory containing server certs (tls.key, tls.crt) and the CA used to verify client certificates (ca.crt)"`
	Insecure           bool   `help:"Run without mTLS credentials. If you supply this flag --tls-certs-dir will be ignored."`
	MaxRecvMessageSize int    `default:"4"     help:"Maximum size of received messages in MB."`
	MetricsAddress     string `default:":8080" help:"Address at which to serve Prometheus metrics; empty disables them."`
}

// Run this Function.
func (c *CLI) Run() error {
	log, err := function.NewLogger(c.Debug)
	if err != nil {
		return err
	}
	log.Info("starting function-k8sta", "version", version, "address", c.Address)
	return function.Serve(fn.New(fn.WithLogger(log)),
		function.Listen(c.Network, c.Address),
		function.MTLSCertificates(c.TLSCertsDir),
		function.Insecure(c.Insecure),
		function.MaxRecvMessageSize(c.MaxRecvMessageSize*1024*1024),
		function.WithMetricsServer(c.MetricsAddress))
}

func main() {
	ctx := kong.Parse(&CLI{}, kong.Description("function-k8sta: expands a Track into a Subscription and per-station Tickets and moves changes down it."))
	ctx.FatalIfErrorf(ctx.Run())
}
