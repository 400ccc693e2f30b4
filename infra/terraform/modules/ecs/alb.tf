# The public entry: an ALB that speaks TLS 1.2+ only, redirects HTTP to HTTPS, drops malformed
# headers, logs every request, sits behind WAF and keeps /metrics off the internet.

resource "aws_security_group" "alb" {
  count       = var.web_enabled ? 1 : 0
  name        = "${var.name}-alb"
  description = "Public load balancer of ${var.name}"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each          = var.web_enabled ? { ipv4 = "0.0.0.0/0" } : {}
  security_group_id = aws_security_group.alb[0].id
  description       = "HTTPS from the internet"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  # checkov:skip=CKV_AWS_260:Port 80 is open only so browsers typing http:// get a 301 to HTTPS; the listener serves nothing else.
  count             = var.web_enabled ? 1 : 0
  security_group_id = aws_security_group.alb[0].id
  description       = "HTTP from the internet, redirected to HTTPS"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
}

resource "aws_vpc_security_group_egress_rule" "alb_to_tasks" {
  count                        = var.web_enabled ? 1 : 0
  security_group_id            = aws_security_group.alb[0].id
  description                  = "To the web tasks"
  referenced_security_group_id = aws_security_group.tasks.id
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
}

resource "aws_lb" "this" {
  # checkov:skip=CKV2_AWS_76:Log4j is covered by AWSManagedRulesKnownBadInputsRuleSet (its Log4JRCE rules, see waf.tf); the check also demands AnonymousIpList, which would block VPN users and the cloud-hosted partner systems that call our API.
  count                      = var.web_enabled ? 1 : 0
  name                       = var.name
  internal                   = false
  load_balancer_type         = "application"
  security_groups            = [aws_security_group.alb[0].id]
  subnets                    = var.public_subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  idle_timeout               = 60
  access_logs {
    bucket  = var.access_log_bucket
    prefix  = var.access_log_prefix
    enabled = true
  }
  tags = var.tags
}

resource "aws_lb_target_group" "web" {
  # checkov:skip=CKV_AWS_378:TLS ends at the ALB; the hop to the task stays inside private subnets and only the ALB's security group may reach the task port.
  count                = var.web_enabled ? 1 : 0
  name                 = "${var.name}-web"
  port                 = var.container_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30
  # /readyz: a task that cannot reach PostgreSQL or Redis gets no traffic, and a release whose
  # tasks never become ready is rolled back by the deployment circuit breaker.
  health_check {
    path                = "/readyz"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
  tags = var.tags
}

resource "aws_lb_listener" "https" {
  count             = var.web_enabled ? 1 : 0
  load_balancer_arn = aws_lb.this[0].arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web[0].arn
  }
  tags = var.tags
}

resource "aws_lb_listener" "http_redirect" {
  count             = var.web_enabled ? 1 : 0
  load_balancer_arn = aws_lb.this[0].arn
  port              = 80
  protocol          = "HTTP"
  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
  tags = var.tags
}

# Prometheus scrapes the tasks inside the VPC; the public gets a 404.
resource "aws_lb_listener_rule" "hide_metrics" {
  count        = var.web_enabled ? 1 : 0
  listener_arn = aws_lb_listener.https[0].arn
  priority     = 10
  action {
    type = "fixed-response"
    fixed_response {
      content_type = "text/plain"
      message_body = "Not Found"
      status_code  = "404"
    }
  }
  condition {
    path_pattern {
      values = ["/metrics", "/metrics/*"]
    }
  }
  tags = var.tags
}
