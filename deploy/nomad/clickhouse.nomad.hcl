# One ClickHouse server on a host volume "clickhouse". For a replicated ClickHouse (or ClickHouse
# Cloud), stop this job and point the nodes' HM_CLICKHOUSE_URL at it instead (deploy/README.md).
job "heatmap-clickhouse" {
  type = "service"

  group "clickhouse" {
    count = 1

    volume "clickhouse" {
      type   = "host"
      source = "clickhouse"
    }

    network {
      port "http" {
        to = 8123
      }
    }

    service {
      provider = "nomad"
      name     = "heatmap-clickhouse"
      port     = "http"

      check {
        type     = "http"
        path     = "/ping"
        interval = "10s"
        timeout  = "3s"
      }
    }

    task "clickhouse" {
      driver = "docker"

      config {
        image = "clickhouse/clickhouse-server:24.8.14.39"
        ports = ["http"]

        ulimit {
          nofile = "262144:262144"
        }
      }

      volume_mount {
        volume      = "clickhouse"
        destination = "/var/lib/clickhouse"
      }

      kill_timeout = "60s"

      env {
        CLICKHOUSE_DB                        = "heatmap"
        CLICKHOUSE_USER                      = "heatmap"
        CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT = "0"
      }

      template {
        destination = "secrets/clickhouse.env"
        env         = true
        data        = <<-EOT
        {{- with nomadVar "nomad/jobs" }}
        CLICKHOUSE_PASSWORD={{ .clickhouse_password }}
        {{- end }}
        EOT
      }

      resources {
        cpu        = 2000
        memory     = 4096
        memory_max = 8192
      }
    }
  }
}
