output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "service_names" {
  description = "ECS service names by role (web, worker)."
  value       = { for role, service in aws_ecs_service.this : role => service.name }
}

output "task_definition_arns" {
  description = "Task definition ARNs by role (web, worker, migrate); run migrate once per release."
  value       = { for role, task in aws_ecs_task_definition.this : role => task.arn }
}

output "tasks_security_group_id" {
  description = "Security group of the tasks; the database and the cache admit it."
  value       = aws_security_group.tasks.id
}

output "alb_dns_name" {
  description = "DNS name of the load balancer; point the public host name at it (alias record). Null without web."
  value       = one(aws_lb.this[*].dns_name)
}

output "alb_zone_id" {
  description = "Hosted zone of the load balancer, for a Route 53 alias record. Null without web."
  value       = one(aws_lb.this[*].zone_id)
}

output "web_command" {
  description = "The web container's command (the Dockerfile's CMD)."
  value       = local.web_command
}

output "worker_command" {
  description = "The worker container's command."
  value       = local.worker_command
}
