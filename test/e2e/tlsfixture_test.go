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
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"testing"
	"time"
)

// testCA is a certificate authority made for one test, so that the test
// decides who trusts a receiver's certificate (a sink's CACerts, or none)
// without depending on any CA the cluster has.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string
}

// newTestCA makes an ECDSA P-256 CA valid for a day (from an hour ago, so a
// node whose clock is a little behind still accepts it).
func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generating the CA key: %v", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serialNumber(t),
		Subject:               pkix.Name{CommonName: "tekton-step-source e2e CA " + t.Name()},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// It signs only leaf certificates.
		MaxPathLenZero: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("creating the CA certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parsing the CA certificate: %v", err)
	}
	return &testCA{cert: cert, key: key, pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

// CAPEM is the CA's certificate in PEM, as a Destination's CACerts takes it.
func (ca *testCA) CAPEM() string { return ca.pem }

// ServerCert issues a server certificate for dnsNames, valid while the CA
// is, and returns it and its PKCS #8 key in PEM.
func (ca *testCA) ServerCert(t *testing.T, dnsNames ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	if len(dnsNames) == 0 {
		t.Fatal("a server certificate needs at least one DNS name")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generating the server key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serialNumber(t),
		Subject:      pkix.Name{CommonName: dnsNames[0]},
		DNSNames:     dnsNames,
		NotBefore:    ca.cert.NotBefore,
		NotAfter:     ca.cert.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatalf("creating the server certificate: %v", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("encoding the server key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

// serialNumber is a random 128-bit serial: RFC 5280 wants serials unique
// per CA, and random ones are without a counter to keep.
func serialNumber(t *testing.T) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		t.Fatalf("generating a serial number: %v", err)
	}
	return n
}

// deployTLSReceiver runs a receiver serving HTTPS only, with a certificate
// from ca for every name its Service answers to in the cluster, behind a
// ClusterIP Service on port 443 (container port 8443), and waits until it
// runs, as deployReceiver does for HTTP. args are more receiver flags (e.g.
// -token-extension). Its address is https://name.ns.svc.cluster.local.
func deployTLSReceiver(t *testing.T, ns, name string, ca *testCA, args ...string) {
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
`, name, receiverImage(), argv, b64(certPEM), b64(keyPEM), b64([]byte(ca.CAPEM())), dir))
	waitEndpointReady(t, ns, name)
}
