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
	"errors"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"knative.dev/pkg/hash"
	"knative.dev/pkg/leaderelection"
	"knative.dev/pkg/reconciler"
	"knative.dev/pkg/system"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/balance"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/ownership"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
)

// This file splits the TaskRuns among a source's replicas: leader-elected
// buckets (Options.LeaderElection).

// setupLeaderElection builds the elector of the source's buckets, as
// Knative's leader-aware reconcilers do. Promotion to a bucket's leader
// reads the bucket's journal entries and queues its TaskRuns (the journal
// and the annotations carry the progress over from the previous leader);
// demotion writes the bucket's pending checkpoints, so the next leader does
// not send those events again.
func (a *Adapter) setupLeaderElection() error {
	leader := &reconciler.LeaderAwareFuncs{
		PromoteFunc: a.promote,
		DemoteFunc:  a.demote,
	}
	lec := *a.opts.LeaderElection
	a.owner = ownership.Elected(leader, lec.Buckets)
	names := sets.New[string]()
	for i := range lec.Buckets {
		names.Insert(adaptercontract.LeaseName(a.opts.Config.SourceName, i, lec.Buckets))
	}
	id := lec.Identity
	if id == "" {
		var err error
		if id, err = leaderelection.UniqueID(); err != nil {
			return err
		}
	}
	a.elector = balance.New(balance.Config{
		Kube:          a.opts.Kube,
		Namespace:     system.Namespace(),
		Identity:      id,
		Buckets:       hash.NewBucketSet(names).Buckets(),
		LeaseDuration: lec.LeaseDuration,
		RenewDeadline: lec.RenewDeadline,
		RetryPeriod:   lec.RetryPeriod,
		Grace:         lec.LeaseDuration,
		Live:          a.liveReplicas,
		// The next leader reads the journal: what this replica delivered
		// must be in it.
		BeforeRelease: a.letGo,
		Logger:        a.logger,
	}, leader, func(_ reconciler.Bucket, key types.NamespacedName) { a.queue.Add(key) })
	return nil
}

// liveReplicas counts the source's ready adapter pods: its Deployment's
// readyReplicas (Options.Deployment).
func (a *Adapter) liveReplicas(ctx context.Context) (int, error) {
	if a.opts.Deployment == "" {
		return 0, errors.New("the adapter's Deployment is not known")
	}
	ctx, cancel := context.WithTimeout(ctx, a.opts.SendTimeout)
	defer cancel()
	d, err := a.opts.Kube.AppsV1().Deployments(system.Namespace()).Get(ctx, a.opts.Deployment, metav1.GetOptions{})
	if err != nil {
		return 0, err
	}
	return int(d.Status.ReadyReplicas), nil
}

// owns reports whether this replica handles the TaskRun (ownership).
func (a *Adapter) owns(key types.NamespacedName) bool { return a.owner.Owns(key) }
