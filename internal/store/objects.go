package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// objectStore implements Objects on a JetStream object store.
type objectStore struct {
	s    *jsStore
	name string
	obs  jetstream.ObjectStore
}

func (o *objectStore) fail(op, name string, err error) error {
	return fmt.Errorf("store: objects %q: %s %q: %w", o.name, op, name, o.s.mapErr(err))
}

func toObjectInfo(info *jetstream.ObjectInfo) ObjectInfo {
	return ObjectInfo{
		Name:    info.Name,
		Size:    int64(info.Size),
		Digest:  info.Digest,
		ModTime: info.ModTime,
	}
}

func (o *objectStore) Put(ctx context.Context, name string, r io.Reader) (ObjectInfo, error) {
	if err := o.s.check(); err != nil {
		return ObjectInfo{}, err
	}
	info, err := o.obs.Put(ctx, jetstream.ObjectMeta{Name: name}, r)
	if err != nil {
		return ObjectInfo{}, o.fail("put", name, err)
	}
	return toObjectInfo(info), nil
}

// Get opens the object for streaming. The reader lives as long as ctx; when
// ctx has no deadline, the read must finish within objectReadTimeout.
func (o *objectStore) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := o.s.check(); err != nil {
		return nil, err
	}
	// Look the object up with the caller's ctx as is (or the default API
	// timeout), so a missing object or an unresponsive server fails fast.
	if _, err := o.obs.GetInfo(ctx, name); err != nil {
		return nil, o.fail("get", name, err)
	}
	rctx, cancel := ctx, context.CancelFunc(func() {})
	if _, ok := ctx.Deadline(); !ok {
		rctx, cancel = context.WithTimeout(ctx, objectReadTimeout)
	}
	res, err := o.obs.Get(rctx, name)
	if err != nil {
		cancel()
		return nil, o.fail("get", name, err)
	}
	return &objectReader{o: o, name: name, res: res, cancel: cancel}, nil
}

type objectReader struct {
	o      *objectStore
	name   string
	res    jetstream.ObjectResult
	cancel context.CancelFunc
}

func (r *objectReader) Read(p []byte) (int, error) {
	n, err := r.res.Read(p)
	if err != nil && err != io.EOF {
		err = r.o.fail("read", r.name, err)
	}
	return n, err
}

func (r *objectReader) Close() error {
	err := r.res.Close()
	r.cancel()
	return err
}

func (o *objectStore) Stat(ctx context.Context, name string) (ObjectInfo, error) {
	if err := o.s.check(); err != nil {
		return ObjectInfo{}, err
	}
	info, err := o.obs.GetInfo(ctx, name)
	if err != nil {
		return ObjectInfo{}, o.fail("stat", name, err)
	}
	return toObjectInfo(info), nil
}

func (o *objectStore) Delete(ctx context.Context, name string) error {
	if err := o.s.check(); err != nil {
		return err
	}
	if err := o.obs.Delete(ctx, name); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return o.fail("delete", name, err)
	}
	return nil
}

func (o *objectStore) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	if err := o.s.check(); err != nil {
		return nil, err
	}
	infos, err := o.obs.List(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, o.fail("list", prefix, err)
	}
	out := []ObjectInfo{}
	for _, info := range infos {
		if !info.Deleted && strings.HasPrefix(info.Name, prefix) {
			out = append(out, toObjectInfo(info))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
