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

package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// pki writes the certificates and kubeconfigs of the single-node cluster
// into a folder, once: a CA, the apiserver's serving certificate, the
// service-account signing key, and a client certificate plus kubeconfig per
// component (admin, kubelet, controller-manager, scheduler, apiserver→kubelet).
func pki(args []string) error {
	fs := flag.NewFlagSet("pki", flag.ExitOnError)
	dir := fs.String("dir", "", "folder for the files")
	ip := fs.String("ip", "", "the apiserver's (and node's) address")
	port := fs.Int("port", 443, "the apiserver's port")
	node := fs.String("node", "", "node name")
	_ = fs.Parse(args)
	if *dir == "" || *ip == "" || *node == "" {
		return errors.New("pki needs -dir, -ip and -node")
	}
	if _, err := os.Stat(filepath.Join(*dir, "admin.kubeconfig")); err == nil {
		return nil
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	addr := net.ParseIP(*ip)
	if addr == nil {
		return fmt.Errorf("bad -ip %q", *ip)
	}

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now().Add(-time.Hour)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tekton-step-source-cluster-ca"},
		NotBefore:             now,
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	if err := os.WriteFile(filepath.Join(*dir, "ca.crt"), caPEM, 0o644); err != nil {
		return err
	}
	if err := writeKey(filepath.Join(*dir, "ca.key"), caKey); err != nil {
		return err
	}

	serial := int64(2)
	issue := func(file, cn string, orgs []string, server bool) ([]byte, []byte, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn, Organization: orgs},
			NotBefore:    now,
			NotAfter:     now.AddDate(10, 0, 0),
			KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		serial++
		if server {
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			tmpl.IPAddresses = []net.IP{addr, net.ParseIP("127.0.0.1")}
			tmpl.DNSNames = []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc",
				"kubernetes.default.svc.cluster.local", "localhost", *node}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
		if err != nil {
			return nil, nil, err
		}
		certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return nil, nil, err
		}
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
		if err := os.WriteFile(filepath.Join(*dir, file+".crt"), certPEM, 0o644); err != nil {
			return nil, nil, err
		}
		return certPEM, keyPEM, os.WriteFile(filepath.Join(*dir, file+".key"), keyPEM, 0o600)
	}
	if _, _, err := issue("apiserver", "kube-apiserver", nil, true); err != nil {
		return err
	}
	if _, _, err := issue("kubelet-serving", "system:node:"+*node, []string{"system:nodes"}, true); err != nil {
		return err
	}
	if _, _, err := issue("apiserver-kubelet-client", "kube-apiserver-kubelet-client", []string{"system:masters"}, false); err != nil {
		return err
	}

	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	if err := writeKey(filepath.Join(*dir, "sa.key"), saKey); err != nil {
		return err
	}
	saPub, err := x509.MarshalPKIXPublicKey(saKey.Public())
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*dir, "sa.pub"),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub}), 0o644); err != nil {
		return err
	}

	server := fmt.Sprintf("https://%s", net.JoinHostPort(*ip, fmt.Sprint(*port)))
	clients := []struct{ name, cn, org string }{
		{"kubelet", "system:node:" + *node, "system:nodes"},
		{"controller-manager", "system:kube-controller-manager", ""},
		{"scheduler", "system:kube-scheduler", ""},
		// admin last: its kubeconfig marks the folder as complete.
		{"admin", "tekton-step-source-admin", "system:masters"},
	}
	for _, c := range clients {
		var orgs []string
		if c.org != "" {
			orgs = []string{c.org}
		}
		certPEM, keyPEM, err := issue(c.name, c.cn, orgs, false)
		if err != nil {
			return err
		}
		cfg := clientcmdapi.NewConfig()
		cfg.Clusters["tss"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
		cfg.AuthInfos[c.name] = &clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM}
		cfg.Contexts["tss"] = &clientcmdapi.Context{Cluster: "tss", AuthInfo: c.name, Namespace: "default"}
		cfg.CurrentContext = "tss"
		if err := clientcmd.WriteToFile(*cfg, filepath.Join(*dir, c.name+".kubeconfig")); err != nil {
			return err
		}
	}
	return nil
}

func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}
