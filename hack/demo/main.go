// Command k8sta-demo is the Go half of `make demo` (hack/demo/demo.sh runs
// it): the steps that are a few lines with client-go and go-containerregistry
// and many more in shell.
//
//	k8sta-demo serve-git -root DIR -addr 127.0.0.1:PORT
//	k8sta-demo push      -image 127.0.0.1:PORT/acme/guestbook -tag 1.1.0
//	k8sta-demo notify    -kubeconfig K -namespace NS -providerconfig NAME -webhook URL -image REPO -tag TAG
//	k8sta-demo watch     -kubeconfig K -namespace NS -track NAME -tag TAG -timeout 15m [-halt-at STATION]
//	k8sta-demo holds     -kubeconfig K -namespace NS -track NAME -tag TAG -stations PATH,PATH
//
// Nothing it prints holds a credential: the webhook's token is read from
// the cluster and only ever sent.
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: k8sta-demo serve-git|push|notify|watch|holds [flags]")
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "serve-git":
		err = serveGit(args)
	case "push":
		err = push(args)
	case "notify":
		err = notify(args)
	case "watch":
		err = watch(args)
	case "holds":
		err = holds(args)
	default:
		err = fmt.Errorf("unknown command %q: want serve-git, push, notify, watch or holds", cmd)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "!! demo: %v\n", err)
		os.Exit(1)
	}
}

// say prints a progress line in the style of hack/stack/lib.sh.
func say(format string, a ...any) {
	fmt.Fprintf(os.Stderr, ">> demo: "+format+"\n", a...)
}

// elapsed formats a duration as m:ss for the progress lines.
func elapsed(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
