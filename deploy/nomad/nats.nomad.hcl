# A 3-server NATS JetStream cluster: the event stream (HM_EVENTS, replicated), the membership and lease
# KV buckets, and the core subjects asks and live deltas travel on. One server per Nomad client, each on
# a host volume "nats" that survives the allocation.
job "heatmap-nats" {
  type = "service"

  update {
    max_parallel     = 1
    min_healthy_time = "30s"
    healthy_deadline = "5m"
  }

  group "nats" {
    count = 3

    constraint {
      operator = "distinct_hosts"
      value    = "true"
    }

    volume "nats" {
      type   = "host"
      source = "nats"
    }

    network {
      port "client" {
        static = 4222
      }
      port "cluster" {
        static = 6222
      }
      port "monitor" {
        static = 8222
      }
    }

    service {
      provider = "nomad"
      name     = "heatmap-nats"
      port     = "client"

      check {
        type     = "http"
        port     = "monitor"
        path     = "/healthz?js-enabled-only=true"
        interval = "10s"
        timeout  = "3s"
      }
    }

    service {
      provider = "nomad"
      name     = "heatmap-nats-cluster"
      port     = "cluster"

      check {
        type     = "tcp"
        interval = "10s"
        timeout  = "3s"
      }
    }

    task "nats" {
      driver = "docker"

      config {
        image = "nats:2.10.29-alpine"
        # The host's network: the servers reach each other and the nodes reach them at the addresses
        # they register, without a port mapping between.
        network_mode = "host"
        args         = ["--config", "/local/nats.conf"]
      }

      volume_mount {
        volume      = "nats"
        destination = "/data"
      }

      # JetStream writes are acknowledged by a quorum; give it time to step down as leader of its streams.
      kill_signal  = "SIGTERM"
      kill_timeout = "30s"

      # Routes to every registered server; a new or moved server is picked up by a reload (SIGHUP).
      template {
        destination   = "local/nats.conf"
        change_mode   = "signal"
        change_signal = "SIGHUP"
        data          = <<-EOT
        server_name: heatmap-nats-{{ env "NOMAD_ALLOC_INDEX" }}
        listen: 0.0.0.0:4222
        http: 0.0.0.0:8222
        jetstream {
          store_dir: /data
          max_memory_store: 256MB
          max_file_store: 20GB
        }
        cluster {
          name: heatmap
          listen: 0.0.0.0:6222
          routes: [
        {{- range nomadService "heatmap-nats-cluster" }}
            nats-route://{{ .Address }}:{{ .Port }}
        {{- end }}
          ]
        }
        EOT
      }

      resources {
        cpu    = 1000
        memory = 1024
      }
    }
  }
}
