# One PostgreSQL server (accounts, sites, keys, audit log) on a host volume "postgres". A managed
# PostgreSQL works as well: stop this job and point HM_DATABASE_URL at it (deploy/README.md).
job "heatmap-postgres" {
  type = "service"

  group "postgres" {
    count = 1

    volume "postgres" {
      type   = "host"
      source = "postgres"
    }

    network {
      port "db" {
        to = 5432
      }
    }

    service {
      provider = "nomad"
      name     = "heatmap-postgres"
      port     = "db"

      check {
        type     = "tcp"
        interval = "10s"
        timeout  = "3s"
      }
    }

    task "postgres" {
      driver = "docker"

      config {
        image = "postgres:16.6-alpine"
        ports = ["db"]
      }

      volume_mount {
        volume      = "postgres"
        destination = "/var/lib/postgresql/data"
      }

      kill_signal  = "SIGINT"
      kill_timeout = "60s"

      env {
        POSTGRES_USER = "heatmap"
        POSTGRES_DB   = "heatmap"
      }

      template {
        destination = "secrets/postgres.env"
        env         = true
        data        = <<-EOT
        {{- with nomadVar "nomad/jobs" }}
        POSTGRES_PASSWORD={{ .postgres_password }}
        {{- end }}
        EOT
      }

      resources {
        cpu    = 1000
        memory = 1024
      }
    }
  }
}
