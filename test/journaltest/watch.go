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

// Package journaltest is for tests that run a receive adapter without the
// controller: it creates the source's progress journal ConfigMap as the
// controller does (Create), and watches how large its content becomes
// (Start).
package journaltest

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
)

// Watch polls one journal until Stop.
type Watch struct {
	largest atomic.Int64
	cancel  context.CancelFunc
	done    sync.WaitGroup
	once    sync.Once
}

// Start reads the journal of the source with the given UID, in namespace,
// every 20 ms.
func Start(kube kubernetes.Interface, namespace, sourceUID string) *Watch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &Watch{cancel: cancel}
	cms := kube.CoreV1().ConfigMaps(namespace)
	w.done.Go(func() {
		for ctx.Err() == nil {
			if cm, err := cms.Get(ctx, adaptercontract.JournalName(sourceUID), metav1.GetOptions{}); err == nil {
				n := 0
				for k, v := range cm.Data {
					n += len(k) + len(v)
				}
				if int64(n) > w.largest.Load() {
					w.largest.Store(int64(n))
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	return w
}

// Stop ends the polling (once; later calls only answer) and returns the
// largest content seen: keys and values, in bytes.
func (w *Watch) Stop() int64 {
	w.once.Do(func() {
		w.cancel()
		w.done.Wait()
	})
	return w.largest.Load()
}
