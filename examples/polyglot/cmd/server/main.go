// Command server runs the render farm's HTTP API and dashboard.
//
//	server [-addr 127.0.0.1:8080] [-demo=true] [-version]
//
// With -addr host:0 it picks a free port; either way it prints
// "listening on http://host:port" once it accepts connections.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"example.com/polyglot/internal/api"
	"example.com/polyglot/internal/jobs"
	"example.com/polyglot/internal/version"
	"example.com/polyglot/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	flags := flag.NewFlagSet("server", flag.ContinueOnError)
	addr := flags.String("addr", "127.0.0.1:8080", "address to listen on (port 0 picks a free one)")
	demo := flags.Bool("demo", true, "start with a few demo jobs in the queue")
	showVersion := flags.Bool("version", false, "print the version and exit")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Fprintln(out, version.String("server"))
		return nil
	}
	queue := jobs.NewQueue()
	if *demo {
		if err := seed(queue); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	return serve(ctx, ln, api.NewHandler(queue, web.Static()), out)
}

// serve runs until ctx is done, then gives requests in flight 5 s to finish.
func serve(ctx context.Context, ln net.Listener, h http.Handler, out io.Writer) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(out, "%s listening on http://%s\n", version.String("server"), ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func seed(q *jobs.Queue) error {
	demo := []jobs.Job{
		{Name: "opening titles", Scene: "titles.usd", FrameStart: 1, FrameEnd: 120, Priority: 20},
		{Name: "hero shot", Scene: "shot010.usd", FrameStart: 1001, FrameEnd: 1096, Priority: 90},
		{Name: "turntable", Scene: "asset_robot.usd", FrameStart: 1, FrameEnd: 360, Priority: 5},
	}
	for _, j := range demo {
		if _, err := q.Submit(j); err != nil {
			return err
		}
	}
	return nil
}
