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

package adapter

import (
	"context"
	"os"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"knative.dev/eventing/pkg/adapter/v2"
	"knative.dev/pkg/injection"
	"knative.dev/pkg/leaderelection"
	"knative.dev/pkg/logging"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/delivery"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	sourcesclient "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned"
)

// EnvConfig is the adapter's environment: adapter/v2's (K_SINK,
// K_CE_OVERRIDES, K_CA_CERTS, K_AUDIENCE, NAMESPACE, NAME, K_LOGGING_CONFIG,
// K_OBSERVABILITY_CONFIG, ...) plus the source's K_SOURCE_CONFIG.
type EnvConfig struct {
	adapter.EnvConfig

	SourceConfig string `envconfig:"K_SOURCE_CONFIG" required:"true"`
	// MaxInFlight caps concurrent deliveries (unset: DefaultMaxInFlight).
	MaxInFlight int `envconfig:"K_MAX_IN_FLIGHT"`
	// CheckpointInterval bounds how often a running TaskRun's progress is
	// written (and so how many events a crash can repeat).
	CheckpointInterval time.Duration `envconfig:"K_CHECKPOINT_INTERVAL" default:"1s"`
	// Deployment is the adapter's Deployment, whose ready replicas share
	// the buckets (set with replicas).
	Deployment string `envconfig:"K_ADAPTER_DEPLOYMENT"`
}

// NewEnvConfig is the adapter.EnvConfigConstructor.
func NewEnvConfig() adapter.EnvConfigAccessor { return &EnvConfig{} }

// NewAdapter is the adapter.AdapterConstructor. It talks to the cluster it
// runs in, or, outside a cluster, to the one $KUBECONFIG names (for
// debugging the adapter by hand). It sends with clients of its own, built
// by NewClients from the client configuration adapter/v2 built ce from,
// which record each answer (ce does not).
func NewAdapter(ctx context.Context, env adapter.EnvConfigAccessor, _ cloudevents.Client) adapter.Adapter {
	logger := logging.FromContext(ctx)
	e := env.(*EnvConfig)
	cfg, err := adaptercontract.Decode(e.SourceConfig)
	if err != nil {
		logger.Fatalw("Invalid source configuration", "error", err)
	}
	cc := adapter.GetClientConfig(ctx)
	if cc.Env == nil {
		cc.Env = env
	}
	sink, deadLetter, err := delivery.NewClients(cc, cfg.DeadLetterSink())
	if err != nil {
		logger.Fatalw("Cannot build the CloudEvents clients", "error", err)
	}
	restCfg := injection.GetConfig(ctx)
	if restCfg == nil {
		if restCfg, err = clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG")); err != nil {
			logger.Fatalw("No Kubernetes client configuration", "error", err)
		}
	}
	restCfg = rest.CopyConfig(restCfg)
	// Checkpoints are patches, up to one per running TaskRun and checkpoint
	// interval, and terminal events may read a log: client-go's default of
	// 5 requests/s would throttle both. KUBE_API_QPS and KUBE_API_BURST
	// (knative.dev/pkg) still override this.
	if restCfg.QPS == 0 {
		restCfg.QPS, restCfg.Burst = 100, 200
	}
	var le *leaderelection.ComponentConfig
	if e.LeaderElectionConfigJson != "" {
		// Set by the controller when spec.replicas > 1.
		if le, err = e.GetLeaderElectionConfig(); err != nil {
			logger.Fatalw("Invalid "+adapter.EnvConfigLeaderElectionConfig, "error", err)
		}
	}
	a, err := New(Options{
		Config:             cfg,
		CloudEvents:        sink,
		DeadLetter:         deadLetter,
		Tekton:             tektonclient.NewForConfigOrDie(restCfg),
		Kube:               kubernetes.NewForConfigOrDie(restCfg),
		Metadata:           metadata.NewForConfigOrDie(restCfg),
		Sources:            sourcesclient.NewForConfigOrDie(restCfg),
		Logger:             logger,
		MaxInFlight:        e.MaxInFlight,
		CheckpointInterval: e.CheckpointInterval,
		SendTimeout:        apiTimeout(e, cfg),
		LeaderElection:     le,
		Deployment:         e.Deployment,
	})
	if err != nil {
		logger.Fatalw("Cannot build the adapter", "error", err)
	}
	return a
}

// apiTimeout is the adapter's bound of one apiserver request (and, without
// delivery.timeout, of one delivery attempt): K_SINK_TIMEOUT (seconds),
// which adapter/v2 also sets on its HTTP client; the adapter's default
// when it is unset or comes from delivery.timeout, a bound of sink
// requests only.
func apiTimeout(e *EnvConfig, cfg *adaptercontract.Config) time.Duration {
	if e.EnvSinkTimeout == "" || (cfg.Delivery != nil && cfg.Delivery.Timeout != nil) {
		return 0
	}
	return time.Duration(e.GetSinktimeout()) * time.Second
}
