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

func TestStackNames(t *testing.T) {
	if got := KubernetesName("wp_Web.v2"); got != "wp-web-v2" {
		t.Errorf("KubernetesName = %q", got)
	}
	if got := StackDockerName("wp", "web"); got != "wp_web" {
		t.Errorf("StackDockerName = %q", got)
	}
	if got := StackServiceShortName("wp", StackObjectName("wp", "web")); got != "web" {
		t.Errorf("StackServiceShortName = %q, want StackObjectName's inverse", got)
	}
	if err := ValidateStackServiceName("wp", "web"); err != nil {
		t.Errorf("ValidateStackServiceName(wp, web) = %v", err)
	}
	if err := ValidateStackServiceName("9wp", "web"); err == nil {
		t.Error("a Service name starting with a digit passed")
	}
}
