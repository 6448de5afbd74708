package dockerapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Version.Index is the object's metadata.generation: the operator's status writes never make a
// client's update "out of sequence", a change of the spec does.

var errOutOfSequence = errors.New("update out of sequence")

func outOfSequence() error {
	return errorf(http.StatusInternalServerError, "rpc error: code = Unknown desc = update out of sequence")
}

// readVersion reads an update's ?version= and checks it against the object's generation.
func readVersion(r *http.Request, what string, obj client.Object) (uint64, error) {
	v := r.URL.Query().Get("version")
	version, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, invalid("invalid %s version '%s': %v", what, v, err)
	}
	if version != uint64(obj.GetGeneration()) {
		return 0, outOfSequence()
	}
	return version, nil
}

// updateVersioned writes obj with change applied to a fresh read of it, as long as its
// generation is still the client's version. A conflict with the operator's status writes is
// retried; a change of the spec in between is Swarm's "update out of sequence".
func (s *Server) updateVersioned(ctx context.Context, what string, obj client.Object, version uint64, change func()) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := s.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		if version != uint64(obj.GetGeneration()) {
			return errOutOfSequence
		}
		change()
		return s.Client.Update(ctx, obj, client.FieldOwner(fieldManager))
	})
	switch {
	case errors.Is(err, errOutOfSequence) || apierrors.IsConflict(err):
		return outOfSequence()
	case apierrors.IsInvalid(err):
		return invalid("rpc error: code = InvalidArgument desc = %v", err)
	case err != nil:
		return fmt.Errorf("updating %s: %w", what, err)
	}
	return nil
}
