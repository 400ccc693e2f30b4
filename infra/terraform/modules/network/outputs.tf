output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "Address range of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "Public subnets (load balancer, NAT gateways), one per zone."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Private subnets (ECS tasks, RDS, ElastiCache), one per zone."
  value       = aws_subnet.private[*].id
}

output "nat_public_ips" {
  description = "Egress addresses of the tasks, for allow-lists at partners (Stripe webhooks come in, not out)."
  value       = aws_eip.nat[*].public_ip
}

output "private_route_table_ids" {
  description = "Route tables of the private subnets, for routes to peered VPCs (the directory's, the cells')."
  value       = aws_route_table.private[*].id
}
