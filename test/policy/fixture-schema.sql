-- The policy corpus fixture. Run on the real cluster as the gateway's upstream user (it owns
-- everything it creates here, so a statement that slipped past the policy would really succeed).
-- One statement per line group; the e2e suite runs the whole file as one simple query.

create table public.customers (
  id int primary key,
  full_name text not null,
  email text not null,
  ssn text not null
);
create table public.orders (
  id serial primary key,
  customer_id int not null references public.customers (id),
  status text not null default 'new',
  total_cents bigint not null default 0
);
create table public.order_items (
  id serial primary key,
  order_id int not null references public.orders (id),
  sku text not null,
  quantity int not null
);
create table public.secrets (
  id int primary key,
  value text not null
);
-- A different table whose name only differs by case: "Orders" is not orders.
create table public."Orders" (
  id int primary key,
  note text not null
);
create view public.order_summary as
  select customer_id, count(*) as order_count, sum(total_cents) as total_cents
  from public.orders
  group by customer_id;
create sequence public.order_seq start 1000;
create function public.order_total(order_id int) returns bigint
  language sql stable
  as $$ select coalesce(sum(total_cents), 0)::bigint from public.orders where id = order_id $$;

create schema scratch;
create table scratch.notes (
  id serial primary key,
  body text not null
);

create schema audit;
create table audit.log (
  id serial primary key,
  at timestamptz not null default now(),
  entry text not null
);

insert into public.customers values
  (1, 'Ada Lovelace', 'ada@example.com', '111-11-1111'),
  (2, 'Alan Turing', 'alan@example.com', '222-22-2222'),
  (3, 'Grace Hopper', 'grace@example.com', '333-33-3333');
insert into public.orders (id, customer_id, status, total_cents) values
  (1, 1, 'new', 1500),
  (2, 1, 'shipped', 4200),
  (3, 2, 'new', 999),
  (4, 3, 'cancelled', 0);
select setval('public.orders_id_seq', 4);
insert into public.order_items (id, order_id, sku, quantity) values
  (1, 1, 'BOOK-1', 1),
  (2, 1, 'PEN-3', 3),
  (3, 2, 'LAMP-2', 1),
  (4, 3, 'MUG-9', 2);
select setval('public.order_items_id_seq', 4);
insert into public.secrets values
  (1, 'launch code 0000'),
  (2, 'api key sk-test-not-real');
insert into public."Orders" values (1, 'capitalised table');
insert into scratch.notes (body) values ('first note'), ('second note');
insert into audit.log (entry) values ('fixture created');
