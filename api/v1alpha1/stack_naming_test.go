package v1alpha1

import "testing"

func TestStackObjectName(t *testing.T) {
	for _, tc := range []struct{ stack, name, want string }{
		{"wp", "wordpress", "wp-wordpress"},
		{"wp", "db_pass", "wp-db-pass"},
		{"WP", "mysql_vol", "wp-mysql-vol"},
		{"my.app", "site.conf", "my-app-site-conf"},
	} {
		if got := StackObjectName(tc.stack, tc.name); got != tc.want {
			t.Errorf("StackObjectName(%q, %q) = %q, want %q", tc.stack, tc.name, got, tc.want)
		}
	}
}
