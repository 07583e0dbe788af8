-- Demo data for the compose stack: an orders table with a tracking column.
CREATE TABLE public.orders (
    id bigserial PRIMARY KEY,
    customer text NOT NULL,
    amount numeric(12,2) NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_updated_at ON public.orders (updated_at, id);
INSERT INTO public.orders (customer, amount, updated_at)
SELECT 'customer-' || (g % 1000), (g % 10000) / 100.0, now() - interval '1 day'
  FROM generate_series(1, 100000) g;
