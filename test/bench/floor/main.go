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

// Command floor is the benchmark's floor: a bare client-go informer on
// TaskRuns that only counts updates, i.e. the cost of watching at all. It
// records when each resourceVersion arrived as "rv unixnano" lines in
// $FLOOR_OUT (buffered, flushed every 100 ms and on SIGTERM, so the benchmark
// can tell when it has seen every write), and prints "floor: cache synced"
// once its cache has synced.
//
// With FLOOR_SEND=true it also sends, for each update, one small CloudEvent
// (id: the resourceVersion) to $K_SINK with the CloudEvents SDK's HTTP
// client, 16 at a time, retrying until acknowledged: the least an adapter
// that watches TaskRuns and sends an event per update can cost.
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	tektoninformers "github.com/tektoncd/pipeline/pkg/client/informers/externalversions"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

type arrival struct {
	rv string
	at int64
}

func main() {
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		panic(err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	factory := tektoninformers.NewSharedInformerFactoryWithOptions(tektonclient.NewForConfigOrDie(cfg), 0,
		tektoninformers.WithNamespace(os.Getenv("NAMESPACE")))
	inf := factory.Tekton().V1().TaskRuns().Informer()
	arrivals := make(chan arrival, 1<<16)
	sends, senders := startSenders(os.Getenv("FLOOR_SEND") == "true", os.Getenv("K_SINK"))
	record := func(obj interface{}) {
		if tr, ok := obj.(*pipelinev1.TaskRun); ok {
			arrivals <- arrival{tr.ResourceVersion, time.Now().UnixNano()}
			if sends != nil {
				sends <- tr.ResourceVersion
			}
		}
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    record,
		UpdateFunc: func(_, obj interface{}) { record(obj) },
	})
	f, err := os.Create(os.Getenv("FLOOR_OUT"))
	if err != nil {
		panic(err)
	}
	w := bufio.NewWriterSize(f, 1<<16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		flush := time.NewTicker(100 * time.Millisecond)
		defer flush.Stop()
		for {
			select {
			case a, ok := <-arrivals:
				if !ok {
					return
				}
				fmt.Fprintf(w, "%s %d\n", a.rv, a.at)
			case <-flush.C:
				_ = w.Flush()
			}
		}
	}()
	stop := make(chan struct{})
	factory.Start(stop)
	factory.WaitForCacheSync(stop)
	fmt.Println("floor: cache synced")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	close(stop)
	factory.Shutdown()
	if sends != nil {
		close(sends)
		senders.Wait()
	}
	close(arrivals)
	<-done
	_ = w.Flush()
	_ = f.Close()
}

// startSenders starts the senders when send is set and returns their
// queue (nil otherwise) and their WaitGroup.
func startSenders(send bool, sink string) (chan<- string, *sync.WaitGroup) {
	var wg sync.WaitGroup
	if !send {
		return nil, &wg
	}
	client, err := cloudevents.NewClientHTTP(cloudevents.WithTarget(sink))
	if err != nil {
		panic(err)
	}
	queue := make(chan string, 1<<16)
	for i := 0; i < 16; i++ {
		wg.Go(func() {
			for rv := range queue {
				e := cloudevents.NewEvent()
				e.SetID(rv)
				e.SetSource("/bench/floor")
				e.SetType("dev.tekton.bench.update.v1")
				if err := e.SetData(cloudevents.ApplicationJSON, map[string]string{"resourceVersion": rv}); err != nil {
					panic(err)
				}
				for !cloudevents.IsACK(client.Send(context.Background(), e)) {
					time.Sleep(10 * time.Millisecond)
				}
			}
		})
	}
	return queue, &wg
}
