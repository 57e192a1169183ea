//go:build e2e

/*
Copyright 2026 The tekton-step-source Authors

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/tektonstep/tekton-step-source/test/testca"
)

// deployTLSReceiver runs a receiver serving HTTPS only, with a certificate
// from ca for every name its Service answers to in the cluster, behind a
// ClusterIP Service on port 443 (container port 8443), and waits until it
// runs, as deployReceiver does for HTTP. args are more receiver flags (e.g.
// -token-extension). Its address is https://name.ns.svc.cluster.local.
func deployTLSReceiver(t *testing.T, ns, name string, ca *testca.CA, args ...string) {
	t.Helper()
	certPEM, keyPEM := ca.ServerCert(t, name, name+"."+ns, name+"."+ns+".svc", name+"."+ns+".svc.cluster.local")
	const dir = "/etc/receiver/tls"
	argv, _ := json.Marshal(append([]string{"-addr", ":8443", "-tls-cert", dir + "/tls.crt", "-tls-key", dir + "/tls.key"}, args...))
	b64 := base64.StdEncoding.EncodeToString
	// The Secret's data is base64, so the PEM needs no YAML quoting, and
	// apply's {{.Image}} substitution cannot touch it.
	apply(t, ns, fmt.Sprintf(`
apiVersion: v1
kind: Secret
metadata:
  name: %[1]s-tls
type: kubernetes.io/tls
data:
  tls.crt: %[4]s
  tls.key: %[5]s
  ca.crt: %[6]s
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      enableServiceLinks: false
      containers:
      - name: receiver
        image: %[2]s
        imagePullPolicy: IfNotPresent
        args: %[3]s
        ports:
        - {name: https, containerPort: 8443}
        # A TCP probe: an HTTPS one would need the receiver to answer GET,
        # and it answers only POSTed events. The receiver listens only once
        # it loaded the certificate, so an open port means it serves TLS.
        readinessProbe:
          tcpSocket: {port: 8443}
          periodSeconds: 1
        volumeMounts:
        - {name: tls, mountPath: %[7]s, readOnly: true}
      volumes:
      - name: tls
        secret: {secretName: %[1]s-tls}
---
apiVersion: v1
kind: Service
metadata:
  name: %[1]s
spec:
  selector: {app: %[1]s}
  ports:
  - {name: https, port: 443, targetPort: https}
`, name, receiverImage(), argv, b64(certPEM), b64(keyPEM), b64([]byte(ca.PEM())), dir))
	waitEndpointReady(t, ns, name)
}
