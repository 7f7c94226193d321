package gitserver

import (
	"fmt"
	"path"
	"strings"
)

// GuestbookImage is the image the fixture's Deployment runs by default.
const GuestbookImage = "ghcr.io/acme/guestbook:1.0.0"

// KustomizeTree returns a small, valid kustomize config repository, the
// fixture every package's tests share:
//
//	base/kustomization.yaml       Deployment, Service and ConfigMap "guestbook"
//	base/deployment.yaml          one container per image (default GuestbookImage)
//	base/service.yaml
//	base/configmap.yaml
//	overlays/dev/kustomization.yaml   namePrefix dev-, replicas 1
//	overlays/prod/kustomization.yaml  replicas 3, a strategic-merge patch
//	overlays/prod/deployment-patch.yaml
//
// With images, the Deployment has one container per image, in that order: the
// first is named "guestbook", the others after their repository's last path
// element.
func KustomizeTree(images ...string) map[string][]byte {
	if len(images) == 0 {
		images = []string{GuestbookImage}
	}
	var containers strings.Builder
	for i, img := range images {
		name := "guestbook"
		if i > 0 {
			name = containerName(img)
		}
		fmt.Fprintf(&containers, "      - name: %s\n        image: %s\n", name, img)
		if i == 0 {
			containers.WriteString(`        ports:
        - name: http
          containerPort: 8080
        envFrom:
        - configMapRef:
            name: guestbook
`)
		}
	}
	return map[string][]byte{
		"base/kustomization.yaml": []byte(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
labels:
- pairs:
    app.kubernetes.io/name: guestbook
  includeSelectors: true
resources:
- deployment.yaml
- service.yaml
- configmap.yaml
`),
		"base/deployment.yaml": []byte(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: guestbook
spec:
  replicas: 1
  selector:
    matchLabels:
      app: guestbook
  template:
    metadata:
      labels:
        app: guestbook
    spec:
      containers:
` + containers.String()),
		"base/service.yaml": []byte(`apiVersion: v1
kind: Service
metadata:
  name: guestbook
spec:
  selector:
    app: guestbook
  ports:
  - name: http
    port: 80
    targetPort: http
`),
		"base/configmap.yaml": []byte(`apiVersion: v1
kind: ConfigMap
metadata:
  name: guestbook
data:
  GREETING: Hello
  LOG_LEVEL: info
`),
		"overlays/dev/kustomization.yaml": []byte(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namePrefix: dev-
resources:
- ../../base
replicas:
- name: guestbook
  count: 1
`),
		"overlays/prod/kustomization.yaml": []byte(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../../base
replicas:
- name: guestbook
  count: 3
patches:
- path: deployment-patch.yaml
`),
		"overlays/prod/deployment-patch.yaml": []byte(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: guestbook
spec:
  template:
    spec:
      containers:
      - name: guestbook
        resources:
          requests:
            cpu: 100m
            memory: 128Mi
          limits:
            memory: 256Mi
`),
	}
}

func containerName(image string) string {
	repo := image
	if i := strings.Index(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return path.Base(repo)
}
