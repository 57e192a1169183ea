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

package testca_test

import (
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/tektonstep/tekton-step-source/test/testca"
)

// TestServerCert: a server certificate verifies against its CA's pool for
// each of its names, DNS or IP, and neither for another name nor against
// another CA's pool; TLSCertificate issues the same kind.
func TestServerCert(t *testing.T) {
	ca, other := testca.New(t), testca.New(t)
	if !x509.NewCertPool().AppendCertsFromPEM([]byte(ca.PEM())) {
		t.Fatalf("PEM() holds no certificate:\n%s", ca.PEM())
	}
	names := []string{"svc.ns.svc.cluster.local", "127.0.0.1", "::1"}
	certPEM, _ := ca.ServerCert(t, names...)
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatalf("ServerCert returned no PEM certificate:\n%s", certPEM)
	}
	fromPEM, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	tlsCert := ca.TLSCertificate(t, names...)
	for _, tc := range []struct {
		name    string
		pool    *x509.CertPool
		host    string
		wantErr bool
	}{
		{"DNS name", ca.Pool(), "svc.ns.svc.cluster.local", false},
		{"IPv4 address", ca.Pool(), "127.0.0.1", false},
		{"IPv6 address", ca.Pool(), "::1", false},
		{"another name", ca.Pool(), "localhost", true},
		{"another CA's pool", other.Pool(), "svc.ns.svc.cluster.local", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, cert := range []*x509.Certificate{fromPEM, tlsCert.Leaf} {
				_, err := cert.Verify(x509.VerifyOptions{
					DNSName: tc.host, Roots: tc.pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
				if (err != nil) != tc.wantErr {
					t.Errorf("verifying for %s: %v, want error %v", tc.host, err, tc.wantErr)
				}
			}
		})
	}
}
