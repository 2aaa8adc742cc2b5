# The console as its own service: static files under /console/, and /v1/… (HTTP and the live
# WebSocket), /sdk/…, /docs and /metrics passed on to a gateway.
job "heatmap-console" {
  type = "service"

  update {
    max_parallel     = 1
    min_healthy_time = "10s"
    healthy_deadline = "3m"
    auto_revert      = true
  }

  group "console" {
    count = 2

    network {
      port "http" {
        to = 8090
      }
    }

    service {
      provider = "nomad"
      name     = "heatmap-console"
      port     = "http"
      tags     = ["public"]

      check {
        type     = "http"
        path     = "/console/"
        interval = "10s"
        timeout  = "3s"
      }
    }

    task "console" {
      driver = "docker"

      config {
        image   = "heatmap/platform:0.1.0"
        command = "node"
        args    = ["--import", "tsx", "console/serve.ts"]
        ports   = ["http"]

        # The image's own HEALTHCHECK probes a node's /v1/health; the service check below is the console's.
        healthchecks {
          disable = true
        }
      }

      env {
        HM_CONSOLE_HOST = "0.0.0.0"
        HM_CONSOLE_PORT = "8090"
      }

      # One gateway origin (the console passes requests to one address): the first registered gateway;
      # the template re-renders and restarts the task when the set changes.
      template {
        destination = "local/console.env"
        env         = true
        change_mode = "restart"
        data        = <<-EOT
        {{- range nomadService "heatmap-gateway" }}
        HM_GATEWAY_URL=http://{{ .Address }}:{{ .Port }}
        {{- break }}{{ end }}
        EOT
      }

      resources {
        cpu    = 200
        memory = 256
      }
    }
  }
}
